// Inputs refer to other entities by natural key or by global ID: one of the two (@oneOf).
import { decodeGlobalID } from '@pothos/plugin-relay';
import type { Prisma } from '../db/client.js';
import { NotFoundError, ValidationError, type EntityKind, type FieldProblem } from '../errors.js';
import { builder } from './builder.js';

function globalIdOf(entity: EntityKind, id: string, field: string): number {
  let decoded: { typename: string; id: string };
  try {
    decoded = decodeGlobalID(id);
  } catch {
    throw new ValidationError([{ field, message: `"${id}" is not a global ID` }]);
  }
  const numeric = Number(decoded.id);
  if (decoded.typename !== entity || !Number.isSafeInteger(numeric)) {
    throw new ValidationError([{ field, message: `"${id}" is not the global ID of a ${entity}` }]);
  }
  return numeric;
}

/**
 * How `node(id:)` and `nodes(ids:)` load one of our entities: the relay plugin has already matched the
 * type name, `id` is the rest. A well-formed ID of a row that no longer exists answers null, as Relay
 * expects (not Prisma's not-found error, which would be masked as internal); a malformed one is a
 * ValidationError that says so.
 */
export function nodeLoading(entity: EntityKind) {
  return {
    nullable: true,
    findUnique: (id: string | number): { id: number } => {
      const numeric = typeof id === 'number' ? id : /^[0-9]+$/.test(id) ? Number(id) : Number.NaN;
      if (!Number.isSafeInteger(numeric)) throw new ValidationError([{ field: 'id', message: `"${String(id)}" is not the ID of a ${entity}` }]);
      return { id: numeric };
    },
  } as const;
}

export interface ModuleRefShape {
  id?: string | null;
  version?: string | null;
}
export interface PlatformRefShape {
  id?: string | null;
  name?: string | null;
}
export interface KernelRefShape {
  id?: string | null;
  name?: string | null;
}
export interface HostRefShape {
  id?: string | null;
  hostname?: string | null;
}
export interface TdRefShape {
  id?: string | null;
  name?: string | null;
}

export const ModuleRef = builder.inputRef<ModuleRefShape>('ModuleRef').implement({
  description: 'A TDX module: its version, or its global ID.',
  isOneOf: true,
  fields: (t) => ({ id: t.id(), version: t.string() }),
});
export const PlatformRef = builder.inputRef<PlatformRefShape>('PlatformRef').implement({
  description: 'A platform: its name, or its global ID.',
  isOneOf: true,
  fields: (t) => ({ id: t.id(), name: t.string() }),
});
export const KernelRef = builder.inputRef<KernelRefShape>('KernelRef').implement({
  description: 'A kernel: its name, or its global ID.',
  isOneOf: true,
  fields: (t) => ({ id: t.id(), name: t.string() }),
});
export const HostRef = builder.inputRef<HostRefShape>('HostRef').implement({
  description: 'A host: its hostname, or its global ID.',
  isOneOf: true,
  fields: (t) => ({ id: t.id(), hostname: t.string() }),
});
export const TdRef = builder.inputRef<TdRefShape>('TdRef').implement({
  description: 'A TD: its name, or its global ID.',
  isOneOf: true,
  fields: (t) => ({ id: t.id(), name: t.string() }),
});

// Prisma unique-where clauses for each reference; `field` names the input for error messages.
export function moduleWhere(ref: ModuleRefShape, field = 'module'): Prisma.TdxModuleWhereUniqueInput {
  return ref.id != null ? { id: globalIdOf('TdxModule', ref.id, field) } : { version: ref.version ?? '' };
}
export function platformWhere(ref: PlatformRefShape, field = 'platform'): Prisma.PlatformWhereUniqueInput {
  return ref.id != null ? { id: globalIdOf('Platform', ref.id, field) } : { name: ref.name ?? '' };
}
export function kernelWhere(ref: KernelRefShape, field = 'kernel'): Prisma.KernelWhereUniqueInput {
  return ref.id != null ? { id: globalIdOf('Kernel', ref.id, field) } : { name: ref.name ?? '' };
}
export function hostWhere(ref: HostRefShape, field = 'host'): Prisma.HostWhereUniqueInput {
  return ref.id != null ? { id: globalIdOf('Host', ref.id, field) } : { hostname: ref.hostname ?? '' };
}
export function tdWhere(ref: TdRefShape, field = 'td'): Prisma.TdWhereUniqueInput {
  return ref.id != null ? { id: globalIdOf('Td', ref.id, field) } : { name: ref.name ?? '' };
}

/** How a reference reads in an error message: the key that was given. */
export function refKey(ref: ModuleRefShape | PlatformRefShape | KernelRefShape | HostRefShape | TdRefShape): string {
  return (Object.values(ref) as (string | null | undefined)[]).find((v) => v != null) ?? '';
}

/** Looks up the row id of a reference or throws NotFoundError. */
export async function requireId<W>(entity: EntityKind, where: W, find: (where: W) => Promise<{ id: number } | null>, key: string): Promise<number> {
  const row = await find(where);
  if (!row) throw new NotFoundError(entity, key);
  return row.id;
}

/**
 * Looks up a reference given in an input. An unknown entity, or a malformed global ID, becomes a
 * problem of `field` and null is returned, so every bad reference of an input is reported at once.
 */
export async function lookupRef<T>(problems: FieldProblem[], field: string, what: string, key: string, find: () => Promise<T | null>): Promise<T | null> {
  try {
    const row = await find();
    if (!row) problems.push({ field, message: `unknown ${what} "${key}"` });
    return row;
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    problems.push(...err.problems);
    return null;
  }
}
