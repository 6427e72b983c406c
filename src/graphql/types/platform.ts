import { platformWhere } from '../../inventory/refs.js';
import { maxLogicalCpus } from '../../capacity/rules.js';
import { createPlatform, deletePlatform, updatePlatform } from '../../commands/inventory.js';
import { builder } from '../builder.js';
import { nodeLoading, PlatformRef } from '../refs.js';
import { DeletedRef } from './deleted.js';
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
      resolve: (p) => maxLogicalCpus(p),
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
    resolve: (query, _root, args, ctx) => ctx.prisma.platform.findUnique({ ...query, where: platformWhere({ name: args.name }, 'name') }),
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
    resolve: (_root, { input }, ctx) => createPlatform(ctx.db, ctx.principal, input),
  }),
  updatePlatform: t.field({
    type: PlatformNode,
    description:
      'Changes the given fields of a platform; the others keep their values. Refused when a host of the platform would present more CPUs than the new topology has.',
    errors: { types: inventoryErrorTypes },
    args: { platform: t.arg({ type: PlatformRef, required: true }), input: t.arg({ type: UpdatePlatformInput, required: true }) },
    resolve: (_root, args, ctx) => updatePlatform(ctx.db, ctx.principal, args.platform, args.input),
  }),
  deletePlatform: t.field({
    type: DeletedRef,
    description: 'Refused while hosts are of this platform. Module support for it is removed with it.',
    errors: { types: inventoryErrorTypes },
    args: { platform: t.arg({ type: PlatformRef, required: true }) },
    resolve: (_root, args, ctx) => deletePlatform(ctx.db, ctx.principal, args.platform),
  }),
}));
