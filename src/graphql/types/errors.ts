// Typed errors as GraphQL types: every mutation result is `Success | one of these`.
import { ConflictError, NotFoundError, StillReferencedError, ValidationError, type FieldProblem, type Reference } from '../../errors.js';
import { builder } from '../builder.js';

export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  description: 'A failure the client can act on. Nothing was changed.',
  fields: (t) => ({ message: t.exposeString('message') }),
});

const EntityKindEnum = builder.enumType('EntityKind', {
  values: ['TdxModule', 'Platform', 'Kernel', 'Host', 'Td'] as const,
});

const FieldProblemRef = builder.objectRef<FieldProblem>('FieldProblem').implement({
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
  fields: (t) => ({ problems: t.field({ type: [FieldProblemRef], resolve: (e) => [...e.problems] }) }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'A referenced entity does not exist.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotFoundError,
  fields: (t) => ({
    entity: t.field({ type: EntityKindEnum, resolve: (e) => e.entity }),
    key: t.exposeString('key', { description: 'The natural key or global ID that was given.' }),
  }),
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'A unique natural key (module version, platform/kernel/TD name, hostname) is taken.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ConflictError,
  fields: (t) => ({
    entity: t.field({ type: EntityKindEnum, resolve: (e) => e.entity }),
    field: t.exposeString('field'),
    value: t.exposeString('value'),
  }),
});

const ReferenceRef = builder.objectRef<Reference>('Reference').implement({
  fields: (t) => ({
    entity: t.field({ type: EntityKindEnum, resolve: (r) => r.entity }),
    count: t.exposeInt('count'),
  }),
});

builder.objectType(StillReferencedError, {
  name: 'StillReferencedError',
  description: 'The entity is still in use (a module hosts run, a host TDs run on); nothing was deleted.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof StillReferencedError,
  fields: (t) => ({
    entity: t.field({ type: EntityKindEnum, resolve: (e) => e.entity }),
    key: t.exposeString('key'),
    referencedBy: t.field({ type: [ReferenceRef], resolve: (e) => [...e.referencedBy] }),
  }),
});

/** The error types every inventory mutation may return. */
export const inventoryErrorTypes = [ValidationError, NotFoundError, ConflictError, StillReferencedError];
