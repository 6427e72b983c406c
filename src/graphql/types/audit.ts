// The audit trail over GraphQL (admins only): every inventory change, newest first.
import type { Prisma } from '../../db/client.js';
import { builder } from '../builder.js';
import { ScenarioRef, scenarioNumber, type ScenarioRefShape } from '../refs.js';

const AuditActionEnum = builder.enumType('AuditAction', {
  description: 'What an audited change did.',
  values: {
    CREATE: { description: 'An entity was created.' },
    UPDATE: { description: 'An entity was changed.' },
    DELETE: { description: 'An entity was deleted.' },
    PLACE: { description: 'A planned TD was placed on a host (placeTd).' },
    MIGRATE: { description: 'A TD was moved to another host (migrateTd).' },
    IMPORT: { description: 'An inventory document was imported (one event per import).' },
    TOKEN_CREATE: { description: 'An API token was created.' },
    TOKEN_REVOKE: { description: 'An API token was revoked.' },
    DECIDE: { description: 'A scenario was accepted or rejected (decideScenario).' },
    COMMENT: { description: 'A scenario was commented on (commentOnScenario).' },
    APPLY: { description: "A scenario's changes were made real (applyScenario); the entities it changed have UPDATE events linked to it." },
  } as const,
});

const jsonOrNull = (value: Prisma.JsonValue): Record<string, unknown> | null =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;

builder.prismaObject('AuditEvent', {
  description: 'One inventory change, recorded by the transaction that made it.',
  fields: (t) => ({
    sequence: t.exposeInt('id', { description: 'Position in the trail: grows with every event.' }),
    at: t.string({ description: 'When the change committed its transaction (ISO 8601).', select: { at: true }, resolve: (e) => e.at.toISOString() }),
    actor: t.exposeString('actor', { description: 'The API token name that made the change (`cli:<user>` for the tdplan command).' }),
    action: t.expose('action', { type: AuditActionEnum, description: 'What was done.' }),
    entityType: t.exposeString('entityType', { description: 'TdxModule, Platform, Kernel, Host, Td, Inventory (imports), ApiToken or Scenario.' }),
    entityKey: t.exposeString('entityKey', { description: 'The natural key of the entity (for an import: MERGE or REPLACE; for a scenario: its number).' }),
    scenario: t.relation('scenario', {
      nullable: true,
      description: "The scenario the event belongs to: the scenario's own events, and the changes its application made.",
    }),
    before: t.field({
      type: 'JSONObject',
      nullable: true,
      description: 'The entity before the change; null when created.',
      select: { before: true },
      resolve: (e) => jsonOrNull(e.before),
    }),
    after: t.field({
      type: 'JSONObject',
      nullable: true,
      description: 'The entity after the change; null when deleted. For an import: counts by kind and the document SHA-256.',
      select: { after: true },
      resolve: (e) => jsonOrNull(e.after),
    }),
  }),
});

const AuditFilter = builder.inputType('AuditEventFilter', {
  description: 'Narrows the trail; all given fields must match.',
  fields: (t) => ({
    entityType: t.string({ description: 'Only events of this entity type, e.g. `Host`.' }),
    entityKey: t.string({ description: 'Only events of the entity with this natural key, e.g. a hostname.' }),
    actor: t.string({ description: 'Only events made with this token name.' }),
    action: t.field({ type: AuditActionEnum, description: 'Only events of this action.' }),
    scenario: t.field({ type: ScenarioRef, description: 'Only events of this scenario (its own, and the changes its application made).' }),
  }),
});

builder.queryField('auditEvents', (t) =>
  t.prismaConnection({
    type: 'AuditEvent',
    cursor: 'id',
    description: 'The audit trail, newest first. ADMIN only.',
    authScopes: { admin: true },
    args: { filter: t.arg({ type: AuditFilter }) },
    totalCount: (_connection, args, ctx) => ctx.prisma.auditEvent.count({ where: auditWhere(args.filter) }),
    resolve: (query, _root, args, ctx) => ctx.prisma.auditEvent.findMany({ ...query, where: auditWhere(args.filter), orderBy: { id: 'desc' } }),
  }),
);

function auditWhere(
  filter:
    | {
        entityType?: string | null;
        entityKey?: string | null;
        actor?: string | null;
        action?: Prisma.AuditEventWhereInput['action'] | null;
        scenario?: ScenarioRefShape | null;
      }
    | null
    | undefined,
): Prisma.AuditEventWhereInput {
  if (!filter) return {};
  return {
    ...(filter.scenario != null ? { scenarioId: scenarioNumber(filter.scenario, 'filter.scenario') } : {}),
    ...(filter.entityType != null ? { entityType: filter.entityType } : {}),
    ...(filter.entityKey != null ? { entityKey: filter.entityKey } : {}),
    ...(filter.actor != null ? { actor: filter.actor } : {}),
    ...(filter.action != null ? { action: filter.action } : {}),
  };
}
