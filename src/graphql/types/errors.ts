// Typed errors as GraphQL types: every mutation result is `Success | one of these`.
import { ConflictError, NotFoundError, StaleGenerationError, StillReferencedError, ValidationError, type FieldProblem, type Reference } from '../../errors.js';
import { builder } from '../builder.js';

export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  description: 'A failure the client can act on. Nothing was changed.',
  fields: (t) => ({ message: t.exposeString('message') }),
});

const EntityKindEnum = builder.enumType('EntityKind', {
  description: 'The kinds of inventory entity.',
  values: {
    TdxModule: { description: 'A TDX module version.' },
    Platform: { description: 'A CPU platform.' },
    Kernel: { description: 'A KVM build.' },
    Host: { description: 'A host.' },
    Td: { description: 'A trust domain.' },
    ApiToken: { description: 'An API token.' },
    Scenario: { description: 'A scenario (a proposal of changes).' },
  } as const,
});

export const FieldProblemRef = builder.objectRef<FieldProblem>('FieldProblem').implement({
  description: 'One broken rule: which input field (or JSON path, for documents) and why.',
  fields: (t) => ({
    field: t.exposeString('field', { description: 'Input field name, or JSON path such as `hosts[3].platform`.' }),
    message: t.exposeString('message'),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'The input breaks one or more rules; every problem is listed.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ValidationError,
  fields: (t) => ({ problems: t.field({ type: [FieldProblemRef], description: 'Every broken rule, by field.', resolve: (e) => [...e.problems] }) }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'A referenced entity does not exist.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotFoundError,
  fields: (t) => ({
    entity: t.field({ type: EntityKindEnum, description: 'What kind of entity was looked for.', resolve: (e) => e.entity }),
    key: t.exposeString('key', { description: 'The natural key or global ID that was given.' }),
  }),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'A unique natural key (module version, platform/kernel/TD name, hostname) is taken.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ConflictError,
  fields: (t) => ({
    entity: t.field({ type: EntityKindEnum, description: 'The kind of entity.', resolve: (e) => e.entity }),
    field: t.exposeString('field', { description: 'The natural key field.' }),
    value: t.exposeString('value', { description: 'The value that is taken.' }),
  }),
});

const ReferenceRef = builder.objectRef<Reference>('Reference').implement({
  description: 'Entities of one kind that still refer to the one being deleted.',
  fields: (t) => ({
    entity: t.field({ type: EntityKindEnum, description: 'Their kind.', resolve: (r) => r.entity }),
    count: t.exposeInt('count', { description: 'How many.' }),
  }),
});

builder.objectType(StillReferencedError, {
  name: 'StillReferencedError',
  description: 'The entity is still in use (a module hosts run, a host TDs run on); nothing was deleted.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof StillReferencedError,
  fields: (t) => ({
    entity: t.field({ type: EntityKindEnum, description: 'The kind of the entity that was not deleted.', resolve: (e) => e.entity }),
    key: t.exposeString('key', { description: 'Its natural key.' }),
    referencedBy: t.field({ type: [ReferenceRef], description: 'What still refers to it.', resolve: (e) => [...e.referencedBy] }),
  }),
});

builder.objectType(StaleGenerationError, {
  name: 'StaleGenerationError',
  description:
    'Optimistic concurrency: the update gave `expectedGeneration`, and the entity has changed since (its generation moved on). Nothing was changed; read it again and retry.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof StaleGenerationError,
  fields: (t) => ({
    entity: t.field({ type: EntityKindEnum, description: 'The kind of the entity.', resolve: (e) => e.entity }),
    key: t.exposeString('key', { description: 'Its natural key (or the global ID given).' }),
    expectedGeneration: t.exposeInt('expectedGeneration', { description: 'The generation the update expected.' }),
    currentGeneration: t.exposeInt('currentGeneration', { description: 'The generation it has now.' }),
  }),
});

export const GENERATION_DESCRIPTION =
  'Optimistic concurrency: starts at 1 and grows with every change. Pass it as `expectedGeneration` to an update to have the update refused if someone changed the entity in between.';
export const EXPECTED_GENERATION_DESCRIPTION =
  'The `generation` you read: the update is refused with a StaleGenerationError if the entity has changed since. Omit it to update whatever the current generation is.';

/** The error types every inventory mutation may return. */
export const inventoryErrorTypes = [ValidationError, NotFoundError, ConflictError, StillReferencedError, StaleGenerationError];
