import { createTd, deleteTd, updateTd } from '../../commands/inventory.js';
import type { Prisma } from '../../db/client.js';
import { hostWhere, naturalKey } from '../../inventory/refs.js';
import { tdByName, tdByNameWithExportRange } from '../../planning/td-lookup.js';
import { builder } from '../builder.js';
import { MIGRATION_TARGETS_SELECT, tdWithMigrationTargets } from '../migration-targets-prefetch.js';
import { HostRef, nodeLoading, TdRef } from '../refs.js';
import { DeletedRef } from './deleted.js';
import { EXPECTED_GENERATION_DESCRIPTION, GENERATION_DESCRIPTION, inventoryErrorTypes } from './errors.js';

export const TdNode = builder.prismaNode('Td', {
  id: { field: 'id' },
  ...nodeLoading('Td'),
  description: 'A trust domain: a TDX confidential VM.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique TD name.' }),
    generation: t.exposeInt('generation', { description: GENERATION_DESCRIPTION }),
    vcpus: t.exposeInt('vcpus', { description: 'The maximum vCPUs of the TD.' }),
    host: t.relation('host', { nullable: true, description: 'The host it runs on; null for a planned TD.' }),
    migratable: t.exposeBoolean('migratable', { description: 'Whether the TD may be migrated (R6).' }),
    memoryMiB: t.exposeInt('memoryMiB', {
      nullable: true,
      description: 'Private memory in MiB (R7); null when unknown (then it counts 0 and is not checked).',
    }),
  }),
});

const TdFilter = builder.inputType('TdFilter', {
  description: 'Every given condition must hold.',
  fields: (t) => ({
    host: t.field({ type: HostRef, description: 'TDs placed on this host.' }),
    placed: t.boolean({ description: 'true: TDs placed on a host; false: planned TDs.' }),
    migratable: t.boolean({ description: 'Migratable TDs (true) or not (false).' }),
  }),
});

export function tdFilterWhere(filter: typeof TdFilter.$inferInput | null | undefined): Prisma.TdWhereInput {
  if (!filter) return {};
  const and: Prisma.TdWhereInput[] = [];
  if (filter.host) and.push({ host: { is: hostWhere(filter.host, 'filter.host') } });
  if (filter.placed != null) and.push({ hostId: filter.placed ? { not: null } : null });
  if (filter.migratable != null) and.push({ migratable: filter.migratable });
  return { AND: and };
}

builder.queryFields((t) => ({
  tds: t.prismaConnection({
    type: 'Td',
    cursor: 'id',
    description: 'TDs, by id, optionally filtered.',
    args: { filter: t.arg({ type: TdFilter }) },
    totalCount: (_connection, args, ctx) => ctx.prisma.td.count({ where: tdFilterWhere(args.filter) }),
    resolve: (query, _root, args, ctx) => ctx.prisma.td.findMany({ ...query, where: tdFilterWhere(args.filter), orderBy: { id: 'asc' } }),
  }),
  td: t.prismaField({
    type: 'Td',
    nullable: true,
    description: 'A TD by name.',
    args: { name: t.arg.string({ required: true }) },
    resolve: async (query, _root, args, ctx, info) => {
      const name = naturalKey(args.name, 'name');
      const where = { name };
      // Its columns, with or without what migrationTargets reads: one prepared statement of ours for
      // the names of the request's td(name:) fields (../../planning/td-lookup.ts); any other selection Prisma's.
      const shape = JSON.stringify(query);
      type Found = ReturnType<typeof ctx.prisma.td.findUnique<typeof query & { where: typeof where }>>;
      if (shape === TD_COLUMNS_ONLY) return tdByName(ctx.db, name, ctx) as Found;
      if (shape === TD_WITH_EXPORT_RANGE) {
        // With migrationTargets' first page, when it asks for one it can read in the same statement.
        const withTargets = await tdWithMigrationTargets(ctx, name, info);
        return (withTargets !== undefined ? withTargets : await tdByNameWithExportRange(ctx.db, name, ctx)) as Awaited<Found>;
      }
      return ctx.prisma.td.findUnique({ ...query, where });
    },
  }),
}));

// Pothos' queries for a TD's own fields, and for those and migrationTargets (its select: Pothos
// includes every column, and the relation as selected).
const TD_COLUMNS_ONLY = JSON.stringify({});
const TD_WITH_EXPORT_RANGE = JSON.stringify({ include: { host: MIGRATION_TARGETS_SELECT.host } });

const CreateTdInput = builder.inputType('CreateTdInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    vcpus: t.int({ required: true }),
    host: t.field({
      type: HostRef,
      description: 'Where it runs; absent or null for a planned TD. Recorded as a fact, without a capacity check (see placeTd).',
    }),
    migratable: t.boolean({ defaultValue: true }),
    memoryMiB: t.int({ description: 'Private memory in MiB; absent or null: unknown.' }),
  }),
});

const UpdateTdInput = builder.inputType('UpdateTdInput', {
  description: 'Fields to change; absent fields keep their value. `host: null` makes the TD planned; `memoryMiB: null` makes its memory unknown.',
  fields: (t) => ({
    name: t.string(),
    vcpus: t.int(),
    host: t.field({ type: HostRef }),
    migratable: t.boolean(),
    memoryMiB: t.int({ description: 'Private memory in MiB; null: unknown.' }),
    expectedGeneration: t.int({ description: EXPECTED_GENERATION_DESCRIPTION }),
  }),
});

builder.mutationFields((t) => ({
  createTd: t.field({
    description: 'Creates a TD. Every invalid field is reported at once in a ValidationError.',
    type: TdNode,
    errors: { types: inventoryErrorTypes },
    args: { input: t.arg({ type: CreateTdInput, required: true }) },
    resolve: (_root, { input }, ctx) => createTd(ctx.db, ctx.principal, input),
  }),
  updateTd: t.field({
    description: 'Changes the given fields of a TD; the others keep their values.',
    type: TdNode,
    errors: { types: inventoryErrorTypes },
    args: { td: t.arg({ type: TdRef, required: true }), input: t.arg({ type: UpdateTdInput, required: true }) },
    resolve: (_root, args, ctx) => updateTd(ctx.db, ctx.principal, args.td, args.input),
  }),
  deleteTd: t.field({
    description: 'Deletes a TD.',
    type: DeletedRef,
    errors: { types: inventoryErrorTypes },
    args: { td: t.arg({ type: TdRef, required: true }) },
    resolve: (_root, args, ctx) => deleteTd(ctx.db, ctx.principal, args.td),
  }),
}));
