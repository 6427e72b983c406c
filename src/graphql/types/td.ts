import type { Prisma } from '../../db/client.js';
import { NotFoundError, type FieldProblem } from '../../errors.js';
import { validateTd } from '../../inventory/validation.js';
import { builder } from '../builder.js';
import { HostRef, hostWhere, lookupRef, nodeLoading, refKey, TdRef, tdWhere, type HostRefShape } from '../refs.js';
import { assertValid, auditedCreate, auditedUpdate, deleteUnlessReferenced, lockForUpdate, mapWriteErrors } from '../write.js';
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
    resolve: (query, _root, args, ctx) => ctx.prisma.td.findUnique({ ...query, where: { name: args.name } }),
  }),
}));

const CreateTdInput = builder.inputType('CreateTdInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    vcpus: t.int({ required: true }),
    host: t.field({
      type: HostRef,
      description: 'Where it runs; absent or null for a planned TD. Recorded as a fact, without a capacity check (see placeTd).',
    }),
    migratable: t.boolean({ defaultValue: true }),
  }),
});

const UpdateTdInput = builder.inputType('UpdateTdInput', {
  description: 'Fields to change; absent fields keep their value. `host: null` makes the TD planned.',
  fields: (t) => ({
    name: t.string(),
    vcpus: t.int(),
    host: t.field({ type: HostRef }),
    migratable: t.boolean(),
    expectedGeneration: t.int({ description: EXPECTED_GENERATION_DESCRIPTION }),
  }),
});

async function hostIdOf(tx: Prisma.TransactionClient, ref: HostRefShape, problems: FieldProblem[]): Promise<number | null> {
  const row = await lookupRef(problems, 'host', 'host', refKey(ref), () => tx.host.findUnique({ where: hostWhere(ref), select: { id: true } }));
  return row?.id ?? null;
}

builder.mutationFields((t) => ({
  createTd: t.field({
    description: 'Creates a TD. Every invalid field is reported at once in a ValidationError.',
    type: TdNode,
    errors: { types: inventoryErrorTypes },
    args: { input: t.arg({ type: CreateTdInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      auditedCreate(ctx, 'Td', input.name, async (tx) => {
        const problems: FieldProblem[] = [];
        const hostId = input.host ? await hostIdOf(tx, input.host, problems) : null;
        const facts = { name: input.name, vcpus: input.vcpus, migratable: input.migratable ?? true };
        problems.push(...validateTd(facts));
        assertValid(problems);
        return tx.td.create({ data: { ...facts, hostId } });
      }),
  }),
  updateTd: t.field({
    description: 'Changes the given fields of a TD; the others keep their values.',
    type: TdNode,
    errors: { types: inventoryErrorTypes },
    args: { td: t.arg({ type: TdRef, required: true }), input: t.arg({ type: UpdateTdInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const key = refKey(args.td);
      const { expectedGeneration, ...input } = args.input;
      return mapWriteErrors('Td', key, () =>
        ctx.prisma.$transaction(async (tx) => {
          const found = await tx.td.findUnique({ where: tdWhere(args.td), select: { id: true } });
          if (!found) throw new NotFoundError('Td', key);
          await lockForUpdate(tx, 'Td', found.id, key, expectedGeneration);
          const current = await tx.td.findUniqueOrThrow({ where: { id: found.id } });
          const problems: FieldProblem[] = [];
          const hostId = input.host === undefined ? current.hostId : input.host === null ? null : await hostIdOf(tx, input.host, problems);
          const facts = {
            name: input.name ?? current.name,
            vcpus: input.vcpus ?? current.vcpus,
            migratable: input.migratable ?? current.migratable,
          };
          problems.push(...validateTd(facts));
          assertValid(problems);
          return auditedUpdate(tx, ctx.principal, 'Td', current.id, () => tx.td.update({ where: { id: current.id }, data: { ...facts, hostId } }));
        }),
      );
    },
  }),
  deleteTd: t.field({
    description: 'Deletes a TD.',
    type: DeletedRef,
    errors: { types: inventoryErrorTypes },
    args: { td: t.arg({ type: TdRef, required: true }) },
    resolve: (_root, args, ctx) =>
      deleteUnlessReferenced(
        ctx,
        'Td',
        refKey(args.td),
        async (tx) => {
          const row = await tx.td.findUnique({ where: tdWhere(args.td), select: { id: true, name: true } });
          return row && { id: row.id, key: row.name, references: [] };
        },
        (tx, id) => tx.td.delete({ where: { id } }),
      ),
  }),
}));
