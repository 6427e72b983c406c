// Shared plumbing of the inventory mutations: run a write, and turn what the database refused
// into the typed errors clients get (a race can beat any check made beforehand).
import type { PrismaClient, Prisma } from '../db/client.js';
import { ConflictError, NotFoundError, StillReferencedError, ValidationError, type EntityKind, type FieldProblem, type Reference } from '../errors.js';
import { deleted, type Deleted } from './types/deleted.js';

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

/**
 * Deletes an entity unless others still refer to it, in one transaction: `find` loads its id, its
 * natural key and how many of each kind refer to it; any reference and nothing is deleted.
 */
export function deleteUnlessReferenced(
  prisma: PrismaClient,
  entity: EntityKind,
  key: string,
  find: (tx: Prisma.TransactionClient) => Promise<{ id: number; key: string; references: Reference[] } | null>,
  remove: (tx: Prisma.TransactionClient, id: number) => Promise<unknown>,
): Promise<Deleted> {
  return mapWriteErrors(entity, key, () =>
    prisma.$transaction(async (tx) => {
      const row = await find(tx);
      if (!row) throw new NotFoundError(entity, key);
      const references = row.references.filter((r) => r.count > 0);
      if (references.length > 0) throw new StillReferencedError(entity, row.key, references);
      await remove(tx, row.id);
      return deleted(entity, row.id);
    }),
  );
}
