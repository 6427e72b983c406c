// Inputs refer to other entities by natural key or by global ID: one of the two (@oneOf).
import type { EntityKind } from '../errors.js';
import { ValidationError } from '../errors.js';
import type { HostRefShape, KernelRefShape, ModuleRefShape, PlatformRefShape, ScenarioRefShape, TdRefShape } from '../inventory/refs.js';
import { builder } from './builder.js';

export * from '../inventory/refs.js';

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
export const ScenarioRef = builder.inputRef<ScenarioRefShape>('ScenarioRef').implement({
  description: 'A scenario: its global ID (scenarios have no natural key; `Scenario.number` is the number in that ID).',
  isOneOf: true,
  fields: (t) => ({ id: t.id({ description: 'The global ID.' }) }),
});
