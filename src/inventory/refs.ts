// References to inventory entities as inputs give them: by natural key or by global ID (one of the
// two). Shared by the command layer (writes) and the read side (filters); the GraphQL input types
// that carry them are in src/graphql/refs.ts.
import { decodeGlobalID } from '@pothos/plugin-relay';
import type { Prisma } from '../db/client.js';
import { ValidationError, type EntityKind, type FieldProblem } from '../errors.js';
import { nameProblem } from './validation.js';

/** The row id in a global ID of `entity`; a malformed one is a ValidationError naming `field`. */
export function globalIdOf(entity: EntityKind, id: string, field: string): number {
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
/** Scenarios have no natural key: a global ID only. */
export interface ScenarioRefShape {
  id?: string | null;
}

/** The scenario's number (row id) in a reference; a malformed ID is a ValidationError naming `field`. */
export function scenarioNumber(ref: ScenarioRefShape, field = 'scenario'): number {
  if (ref.id == null) throw new ValidationError([{ field, message: 'give the id of a scenario' }]);
  return globalIdOf('Scenario', ref.id, field);
}

// A natural key that is not a valid name (src/inventory/validation.ts) names nothing: it is refused
// as such rather than sent to PostgreSQL (which refuses a NUL byte with an error of its own).
export function naturalKey(key: string | null | undefined, field: string): string {
  const problem = key ? nameProblem(key) : null;
  if (problem) throw new ValidationError([{ field, message: problem }]);
  return key ?? '';
}

// Prisma unique-where clauses for each reference; `field` names the input for error messages.
export function moduleWhere(ref: ModuleRefShape, field = 'module'): Prisma.TdxModuleWhereUniqueInput {
  return ref.id != null ? { id: globalIdOf('TdxModule', ref.id, field) } : { version: naturalKey(ref.version, field) };
}
export function platformWhere(ref: PlatformRefShape, field = 'platform'): Prisma.PlatformWhereUniqueInput {
  return ref.id != null ? { id: globalIdOf('Platform', ref.id, field) } : { name: naturalKey(ref.name, field) };
}
export function kernelWhere(ref: KernelRefShape, field = 'kernel'): Prisma.KernelWhereUniqueInput {
  return ref.id != null ? { id: globalIdOf('Kernel', ref.id, field) } : { name: naturalKey(ref.name, field) };
}
export function hostWhere(ref: HostRefShape, field = 'host'): Prisma.HostWhereUniqueInput {
  return ref.id != null ? { id: globalIdOf('Host', ref.id, field) } : { hostname: naturalKey(ref.hostname, field) };
}
export function tdWhere(ref: TdRefShape, field = 'td'): Prisma.TdWhereUniqueInput {
  return ref.id != null ? { id: globalIdOf('Td', ref.id, field) } : { name: naturalKey(ref.name, field) };
}

/** How a reference reads in an error message: the key that was given. */
export function refKey(ref: ModuleRefShape | PlatformRefShape | KernelRefShape | HostRefShape | TdRefShape): string {
  return (Object.values(ref) as (string | null | undefined)[]).find((v) => v != null) ?? '';
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
