import { NotFoundError } from '../../errors.js';
import { validatePlatform } from '../../inventory/validation.js';
import { builder } from '../builder.js';
import { nodeLoading, PlatformRef, platformWhere, refKey } from '../refs.js';
import { assertValid, auditedCreate, auditedUpdate, deleteUnlessReferenced, lockForUpdate, mapWriteErrors } from '../write.js';
import { DeletedRef, withoutNulls } from './deleted.js';
import { EXPECTED_GENERATION_DESCRIPTION, GENERATION_DESCRIPTION, inventoryErrorTypes } from './errors.js';

export const PlatformNode = builder.prismaNode('Platform', {
  id: { field: 'id' },
  ...nodeLoading('Platform'),
  description: 'A CPU platform as deployed: a CPU generation in a given socket and core configuration.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique name, e.g. `EMR-2S`.' }),
    sockets: t.exposeInt('sockets', { description: 'CPU sockets.' }),
    coresPerSocket: t.exposeInt('coresPerSocket', { description: 'Cores per socket.' }),
    threadsPerCore: t.exposeInt('threadsPerCore', { description: 'Hardware threads per core (2 with Hyper-Threading).' }),
    generation: t.exposeInt('generation', { description: GENERATION_DESCRIPTION }),
    maxLogicalCpus: t.int({
      description: 'sockets x coresPerSocket x threadsPerCore: the most CPUs a host of this platform can present.',
      select: { sockets: true, coresPerSocket: true, threadsPerCore: true },
      resolve: (p) => p.sockets * p.coresPerSocket * p.threadsPerCore,
    }),
    hosts: t.relatedConnection('hosts', {
      cursor: 'id',
      totalCount: true,
      description: 'Hosts of this platform.',
      query: () => ({ orderBy: { id: 'asc' } }),
    }),
  }),
});

builder.queryFields((t) => ({
  platforms: t.prismaConnection({
    type: 'Platform',
    cursor: 'id',
    totalCount: (_connection, _args, ctx) => ctx.prisma.platform.count(),
    description: 'All platforms, by id.',
    resolve: (query, _root, _args, ctx) => ctx.prisma.platform.findMany({ ...query, orderBy: { id: 'asc' } }),
  }),
  platform: t.prismaField({
    type: 'Platform',
    nullable: true,
    description: 'A platform by name.',
    args: { name: t.arg.string({ required: true }) },
    resolve: (query, _root, args, ctx) => ctx.prisma.platform.findUnique({ ...query, where: { name: args.name } }),
  }),
}));

const CreatePlatformInput = builder.inputType('CreatePlatformInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    sockets: t.int({ required: true }),
    coresPerSocket: t.int({ required: true }),
    threadsPerCore: t.int({ required: true }),
  }),
});

const UpdatePlatformInput = builder.inputType('UpdatePlatformInput', {
  description: 'Fields to change; absent fields keep their value.',
  fields: (t) => ({
    name: t.string(),
    sockets: t.int(),
    coresPerSocket: t.int(),
    threadsPerCore: t.int(),
    expectedGeneration: t.int({ description: EXPECTED_GENERATION_DESCRIPTION }),
  }),
});

builder.mutationFields((t) => ({
  createPlatform: t.field({
    description: 'Creates a platform. Every invalid field is reported at once in a ValidationError.',
    type: PlatformNode,
    errors: { types: inventoryErrorTypes },
    args: { input: t.arg({ type: CreatePlatformInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      assertValid(validatePlatform(input));
      return auditedCreate(ctx, 'Platform', input.name, (tx) => tx.platform.create({ data: input }));
    },
  }),
  updatePlatform: t.field({
    type: PlatformNode,
    description:
      'Changes the given fields of a platform; the others keep their values. Refused when a host of the platform would present more CPUs than the new topology has.',
    errors: { types: inventoryErrorTypes },
    args: { platform: t.arg({ type: PlatformRef, required: true }), input: t.arg({ type: UpdatePlatformInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const key = refKey(args.platform);
      return mapWriteErrors('Platform', key, () =>
        ctx.prisma.$transaction(async (tx) => {
          const { expectedGeneration, ...changes } = args.input;
          const found = await tx.platform.findUnique({ where: platformWhere(args.platform), select: { id: true } });
          if (!found) throw new NotFoundError('Platform', key);
          await lockForUpdate(tx, 'Platform', found.id, key, expectedGeneration);
          const current = await tx.platform.findUniqueOrThrow({ where: { id: found.id } });
          const next = { ...current, ...withoutNulls(changes) };
          const problems = validatePlatform(next);
          const largestHost = await tx.host.aggregate({ where: { platformId: current.id }, _max: { presentCpus: true } });
          const maxLogical = next.sockets * next.coresPerSocket * next.threadsPerCore;
          if ((largestHost._max.presentCpus ?? 0) > maxLogical) {
            problems.push({
              field: 'input',
              message: `a host of this platform presents ${largestHost._max.presentCpus} CPUs, more than the ${maxLogical} logical CPUs of the new topology`,
            });
          }
          assertValid(problems);
          return auditedUpdate(tx, ctx.principal, 'Platform', current.id, () => tx.platform.update({ where: { id: current.id }, data: withoutNulls(changes) }));
        }),
      );
    },
  }),
  deletePlatform: t.field({
    type: DeletedRef,
    description: 'Refused while hosts are of this platform. Module support for it is removed with it.',
    errors: { types: inventoryErrorTypes },
    args: { platform: t.arg({ type: PlatformRef, required: true }) },
    resolve: (_root, args, ctx) =>
      deleteUnlessReferenced(
        ctx,
        'Platform',
        refKey(args.platform),
        async (tx) => {
          const row = await tx.platform.findUnique({ where: platformWhere(args.platform), include: { _count: { select: { hosts: true } } } });
          return row && { id: row.id, key: row.name, references: [{ entity: 'Host', count: row._count.hosts }] };
        },
        (tx, id) => tx.platform.delete({ where: { id } }),
      ),
  }),
}));
