// Shared plumbing of the command layer: run a write in a transaction, lock and version the rows it
// changes, record it in the audit trail, and turn what the database refused into the typed errors
// of src/errors.ts (a race can beat any check made beforehand).
import { auditSnapshot, recordAudit } from '../audit/record.js';
import type { Principal } from '../auth/principal.js';
import type { Prisma } from '../db/client.js';
import { ConflictError, NotFoundError, StaleGenerationError, StillReferencedError, ValidationError, type EntityKind, type FieldProblem } from '../errors.js';

export type Tx = Prisma.TransactionClient;

/** The entities of the inventory that commands create, change and delete. */
export type InventoryEntity = Exclude<EntityKind, 'ApiToken' | 'Scenario'>;

/** What a delete removed: the entity kind and its row id (the API shows it as a global ID). */
export interface DeletedEntity {
  entity: InventoryEntity;
  id: number;
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
  Scenario: 'id',
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

// Prisma has no SELECT ... FOR UPDATE: one fixed statement per table (no table name is ever built
// from a string), and the generation bump through each model's own delegate.
const lockRow: Record<InventoryEntity, (tx: Tx, id: number) => Promise<{ generation: number }[]>> = {
  TdxModule: (tx, id) => tx.$queryRaw`SELECT generation FROM tdx_module WHERE id = ${id} FOR UPDATE`,
  Platform: (tx, id) => tx.$queryRaw`SELECT generation FROM platform WHERE id = ${id} FOR UPDATE`,
  Kernel: (tx, id) => tx.$queryRaw`SELECT generation FROM kernel WHERE id = ${id} FOR UPDATE`,
  Host: (tx, id) => tx.$queryRaw`SELECT generation FROM host WHERE id = ${id} FOR UPDATE`,
  Td: (tx, id) => tx.$queryRaw`SELECT generation FROM td WHERE id = ${id} FOR UPDATE`,
};

const nextGeneration = { generation: { increment: 1 } } as const;
const bumpGeneration: Record<InventoryEntity, (tx: Tx, id: number) => Promise<unknown>> = {
  TdxModule: (tx, id) => tx.tdxModule.update({ where: { id }, data: nextGeneration, select: { id: true } }),
  Platform: (tx, id) => tx.platform.update({ where: { id }, data: nextGeneration, select: { id: true } }),
  Kernel: (tx, id) => tx.kernel.update({ where: { id }, data: nextGeneration, select: { id: true } }),
  Host: (tx, id) => tx.host.update({ where: { id }, data: nextGeneration, select: { id: true } }),
  Td: (tx, id) => tx.td.update({ where: { id }, data: nextGeneration, select: { id: true } }),
};

/**
 * Locks the entity's row for the rest of the transaction and checks the caller's expected
 * generation against it (optimistic concurrency: two writers that read the same generation cannot
 * both win). Returns the current generation.
 */
export async function lockForUpdate(tx: Tx, entity: InventoryEntity, id: number, key: string, expectedGeneration: number | null | undefined): Promise<number> {
  const current = (await lockRow[entity](tx, id))[0]?.generation;
  if (current === undefined) throw new NotFoundError(entity, key);
  if (expectedGeneration != null && expectedGeneration !== current) throw new StaleGenerationError(entity, key, expectedGeneration, current);
  return current;
}

/**
 * Runs `update` on a row already locked by lockForUpdate, bumps its generation, and records the
 * change (before and after) in the audit trail. Call inside the caller's transaction.
 */
export async function auditedUpdate<T>(
  tx: Tx,
  actor: Principal,
  entity: InventoryEntity,
  id: number,
  update: () => Promise<T>,
  action: 'UPDATE' | 'PLACE' | 'MIGRATE' = 'UPDATE',
  /** The scenario whose application makes the change (the audit record links to it). */
  scenarioId?: number,
): Promise<T> {
  const before = await auditSnapshot(tx, entity, id);
  // Bumped first, so the row `update` returns (what the client reads back) carries the new generation.
  await bumpGeneration[entity](tx, id);
  const row = await update();
  const after = await auditSnapshot(tx, entity, id);
  const entityKey = String((after ?? before ?? {})[naturalKeyField[entity]] ?? id);
  await recordAudit(tx, actor, { action, entityType: entity, entityKey, before, after, ...(scenarioId !== undefined ? { scenarioId } : {}) });
  return row;
}

/**
 * An update input without the fields the client left out. GraphQL gives null for an explicit
 * null; for non-nullable columns null means "keep", so it is dropped too.
 */
export function withoutNulls<T extends Record<string, unknown>>(input: T): { [K in keyof T]?: Exclude<T[K], null> } {
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null && v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], null>;
  };
}
