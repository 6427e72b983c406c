// Shared plumbing of the inventory mutations: run a write, and turn what the database refused
// into the typed errors clients get (a race can beat any check made beforehand).
import { auditSnapshot, recordAudit } from '../audit/record.js';
import type { Principal } from '../auth/tokens.js';
import type { PrismaClient, Prisma } from '../db/client.js';
import {
  ConflictError,
  NotFoundError,
  StaleGenerationError,
  StillReferencedError,
  ValidationError,
  type EntityKind,
  type FieldProblem,
  type Reference,
} from '../errors.js';
import { deleted, type Deleted } from './types/deleted.js';

/** What a write needs from the request: the database and who is asking (for the audit trail). */
export interface WriteContext {
  prisma: PrismaClient;
  principal: Principal;
}

interface PrismaKnownError {
  code: string;
  meta?: Record<string, unknown>;
  message: string;
}

function isPrismaKnownError(err: unknown): err is PrismaKnownError {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' && /^P\d{4}$/.test((err as { code: string }).code);
}

const naturalKeyField: Record<EntityKind, string> = {
  TdxModule: 'version',
  Platform: 'name',
  Kernel: 'name',
  Host: 'hostname',
  Td: 'name',
  ApiToken: 'name',
};

/** Fails with ValidationError when any problem was found. */
export function assertValid(problems: readonly FieldProblem[]): void {
  if (problems.length > 0) throw new ValidationError(problems);
}

/**
 * Runs a write for `entity` identified by `key`. Unique violations become ConflictError, a
 * missing row NotFoundError, a foreign key that still points here StillReferencedError, and a
 * CHECK constraint ValidationError; anything else propagates (and is masked for clients).
 */
export async function mapWriteErrors<T>(entity: EntityKind, key: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!isPrismaKnownError(err)) throw err;
    const cause = JSON.stringify(err.meta ?? {});
    switch (err.code) {
      case 'P2002':
        throw new ConflictError(entity, naturalKeyField[entity], key);
      case 'P2025':
        throw new NotFoundError(entity, key);
      case 'P2003':
        throw new StillReferencedError(entity, key, []);
      case 'P2004':
      case 'P2011':
      case 'P2000':
        throw new ValidationError([{ field: naturalKeyField[entity], message: `refused by the database: ${cause}` }]);
      default:
        throw err;
    }
  }
}

const TABLE: Record<Exclude<EntityKind, 'ApiToken'>, string> = { TdxModule: 'tdx_module', Platform: 'platform', Kernel: 'kernel', Host: 'host', Td: 'td' };
type InventoryEntity = keyof typeof TABLE;

/**
 * Locks the entity's row for the rest of the transaction and checks the caller's expected
 * generation against it (optimistic concurrency: two writers that read the same generation cannot
 * both win). Returns the current generation.
 */
export async function lockForUpdate(
  tx: Prisma.TransactionClient,
  entity: InventoryEntity,
  id: number,
  key: string,
  expectedGeneration: number | null | undefined,
): Promise<number> {
  const rows = await tx.$queryRawUnsafe<{ generation: number }[]>(`SELECT generation FROM "${TABLE[entity]}" WHERE id = $1 FOR UPDATE`, id);
  const current = rows[0]?.generation;
  if (current === undefined) throw new NotFoundError(entity, key);
  if (expectedGeneration != null && expectedGeneration !== current) throw new StaleGenerationError(entity, key, expectedGeneration, current);
  return current;
}

/** Creates an entity and records it in the audit trail, in one transaction. */
export function auditedCreate<T extends { id: number }>(
  ctx: WriteContext,
  entity: InventoryEntity,
  key: string,
  create: (tx: Prisma.TransactionClient) => Promise<T>,
): Promise<T> {
  return mapWriteErrors(entity, key, () =>
    ctx.prisma.$transaction(async (tx) => {
      const row = await create(tx);
      await recordAudit(tx, ctx.principal, {
        action: 'CREATE',
        entityType: entity,
        entityKey: key,
        before: null,
        after: await auditSnapshot(tx, entity, row.id),
      });
      return row;
    }),
  );
}

/**
 * Runs `update` on a row already locked by lockForUpdate, bumps its generation, and records the
 * change (before and after) in the audit trail. Call inside the caller's transaction.
 */
export async function auditedUpdate<T>(
  tx: Prisma.TransactionClient,
  principal: Principal,
  entity: InventoryEntity,
  id: number,
  update: () => Promise<T>,
  action: 'UPDATE' | 'PLACE' | 'MIGRATE' = 'UPDATE',
): Promise<T> {
  const before = await auditSnapshot(tx, entity, id);
  // Bumped first, so the row `update` returns (what the client reads back) carries the new generation.
  await tx.$executeRawUnsafe(`UPDATE "${TABLE[entity]}" SET generation = generation + 1 WHERE id = $1`, id);
  const row = await update();
  const after = await auditSnapshot(tx, entity, id);
  const entityKey = String((after ?? before ?? {})[naturalKeyField[entity]] ?? id);
  await recordAudit(tx, principal, { action, entityType: entity, entityKey, before, after });
  return row;
}

/**
 * Deletes an entity unless others still refer to it, in one transaction: `find` loads its id, its
 * natural key and how many of each kind refer to it; any reference and nothing is deleted.
 */
export function deleteUnlessReferenced(
  ctx: WriteContext,
  entity: InventoryEntity,
  key: string,
  find: (tx: Prisma.TransactionClient) => Promise<{ id: number; key: string; references: Reference[] } | null>,
  remove: (tx: Prisma.TransactionClient, id: number) => Promise<unknown>,
): Promise<Deleted> {
  return mapWriteErrors(entity, key, () =>
    ctx.prisma.$transaction(async (tx) => {
      const row = await find(tx);
      if (!row) throw new NotFoundError(entity, key);
      await lockForUpdate(tx, entity, row.id, key, null);
      const references = row.references.filter((r) => r.count > 0);
      if (references.length > 0) throw new StillReferencedError(entity, row.key, references);
      const before = await auditSnapshot(tx, entity, row.id);
      await remove(tx, row.id);
      await recordAudit(tx, ctx.principal, { action: 'DELETE', entityType: entity, entityKey: row.key, before, after: null });
      return deleted(entity, row.id);
    }),
  );
}
