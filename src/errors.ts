// Typed failures of inventory operations. The GraphQL layer turns each into a typed error in
// the mutation's result (src/graphql/types/errors.ts); the CLI prints its message.

export interface FieldProblem {
  /** The input field at fault, e.g. `presentCpus`, or a JSON path such as `hosts[3].platform`. */
  field: string;
  message: string;
}

/** The input breaks a rule; nothing was changed. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    readonly problems: readonly FieldProblem[],
    message?: string,
  ) {
    super(message ?? problems.map((p) => `${p.field}: ${p.message}`).join('; '));
  }
}

export type EntityKind = 'TdxModule' | 'Platform' | 'Kernel' | 'Host' | 'Td' | 'ApiToken';

/** A referenced entity does not exist. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
  constructor(
    readonly entity: EntityKind,
    readonly key: string,
  ) {
    super(`${entity} ${JSON.stringify(key)} does not exist`);
  }
}

/** A unique natural key is taken already. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
  constructor(
    readonly entity: EntityKind,
    readonly field: string,
    readonly value: string,
  ) {
    super(`${entity} with ${field} ${JSON.stringify(value)} exists already`);
  }
}

export interface Reference {
  entity: EntityKind;
  count: number;
}

/** Deleting the entity would orphan others (hosts running a module, TDs on a host...). */
export class StillReferencedError extends Error {
  override readonly name = 'StillReferencedError';
  constructor(
    readonly entity: EntityKind,
    readonly key: string,
    readonly referencedBy: readonly Reference[],
  ) {
    super(
      `${entity} ${JSON.stringify(key)} is still referenced by ${referencedBy
        .map((r) => `${r.count} ${r.entity}${r.count === 1 ? '' : 's'}`)
        .join(' and ')}; nothing was deleted`,
    );
  }
}

/** Optimistic concurrency: the update named a generation the entity has moved past. */
export class StaleGenerationError extends Error {
  override readonly name = 'StaleGenerationError';
  constructor(
    readonly entity: EntityKind,
    readonly key: string,
    readonly expectedGeneration: number,
    readonly currentGeneration: number,
  ) {
    super(
      `${entity} ${JSON.stringify(key)} is at generation ${currentGeneration}, not ${expectedGeneration}: someone changed it since you read it; nothing was changed (read it again and retry)`,
    );
  }
}

/** The caller's role does not allow the field. */
export class ForbiddenError extends Error {
  override readonly name = 'ForbiddenError';
  constructor(
    readonly principal: { name: string; role: string },
    readonly field: string,
  ) {
    super(`${field} is not allowed for role ${principal.role} (token "${principal.name}")`);
  }
}
