import type { MigrationBlocker } from './capacity/rules.js';

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

export type EntityKind = 'TdxModule' | 'Platform' | 'Kernel' | 'Host' | 'Td' | 'ApiToken' | 'Scenario';

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

// API tokens

export class TokenNameTakenError extends Error {
  override readonly name = 'TokenNameTakenError';
  constructor(readonly tokenName: string) {
    super(`an API token named ${JSON.stringify(tokenName)} exists already (revoke it, or choose another name)`);
  }
}

export class TokenNotFoundError extends Error {
  override readonly name = 'TokenNotFoundError';
  constructor(readonly tokenName: string) {
    super(`no active API token named ${JSON.stringify(tokenName)}`);
  }
}

export class InvalidTokenNameError extends Error {
  override readonly name = 'InvalidTokenNameError';
  constructor(readonly tokenName: string) {
    super(`an API token name must be 1 to 100 characters of letters, digits, ".", "_", "-", "@" or ":" (got ${JSON.stringify(tokenName)})`);
  }
}

/** A placement refused by the rules; nothing was changed. */
export class PlacementRefusedError extends Error {
  override readonly name = 'PlacementRefusedError';
  constructor(readonly blockers: MigrationBlocker[]) {
    super(`refused: ${blockers.map((b) => b.message).join('; ')}`);
  }
}

/** Why an accepted scenario cannot be applied (every reason is listed). */
export const SCENARIO_APPLY_REFUSAL_CODES = ['NOT_ACCEPTED', 'CHANGE_NO_LONGER_APPLIES', 'CHANGED_SINCE_ACCEPTED', 'SELECTION_CHANGED'] as const;
export type ScenarioApplyRefusalCode = (typeof SCENARIO_APPLY_REFUSAL_CODES)[number];

export interface ScenarioApplyRefusal {
  code: ScenarioApplyRefusalCode;
  /** The change at fault, as a path into the scenario's changes (e.g. `changes.hosts[0].host`); null for the scenario itself. */
  field: string | null;
  message: string;
}

/** applyScenario refused: the scenario is not accepted, or the inventory has moved so that a change no longer applies. Nothing was written. */
export class ScenarioApplyRefusedError extends Error {
  override readonly name = 'ScenarioApplyRefusedError';
  constructor(
    readonly scenarioNumber: number,
    readonly reasons: readonly ScenarioApplyRefusal[],
  ) {
    super(
      `scenario ${scenarioNumber} was not applied, nothing was written: ${reasons.map((r) => (r.field ? `${r.field}: ${r.message}` : r.message)).join('; ')}`,
    );
  }
}

/** The scenario was applied already: it can no longer be decided. */
export class ScenarioAppliedError extends Error {
  override readonly name = 'ScenarioAppliedError';
  constructor(readonly scenarioNumber: number) {
    super(`scenario ${scenarioNumber} is APPLIED already: its decision can no longer change`);
  }
}
