import { moduleWhere } from '../../inventory/refs.js';
import type { MigrationVersions } from '../../capacity/rules.js';
import { createModule, deleteModule, updateModule } from '../../commands/inventory.js';
import { migrationVersionsOf } from '../../planning/host-facts.js';
import { ModuleRef, nodeLoading, PlatformRef } from '../refs.js';
import { DeletedRef } from './deleted.js';
import { EXPECTED_GENERATION_DESCRIPTION, GENERATION_DESCRIPTION, inventoryErrorTypes } from './errors.js';
import { prismaConnectionHelpers } from '@pothos/plugin-prisma';
import { builder } from '../builder.js';
import { PlatformNode } from './platform.js';

export const TdxFeatureEnum = builder.enumType('TdxFeature', {
  description: 'TDX_FEATURES0 capabilities that matter to capacity.',
  values: {
    TOPOLOGY_ENUM: { description: 'TDX_FEATURES0.TOPOLOGY_ENUM; tdx.c refuses modules without it.' },
    NO_RBP_MOD: { description: 'TDX_FEATURES0.NO_RBP_MOD: the module does not clobber RBP; STRICT (mainline) kernels refuse modules without it.' },
  } as const,
});

const MigrationVersionsRef = builder.objectRef<MigrationVersions>('MigrationVersions').implement({
  description: 'TD-migration protocol versions the module can export and import (MIN/MAX_EXPORT_VERSION, MIN/MAX_IMPORT_VERSION).',
  fields: (t) => ({
    minExportVersion: t.exposeInt('minExportVersion', { description: 'MIN_EXPORT_VERSION: oldest migration protocol version the module exports.' }),
    maxExportVersion: t.exposeInt('maxExportVersion', { description: 'MAX_EXPORT_VERSION: newest version it exports.' }),
    minImportVersion: t.exposeInt('minImportVersion', { description: 'MIN_IMPORT_VERSION: oldest version it imports.' }),
    maxImportVersion: t.exposeInt('maxImportVersion', { description: 'MAX_IMPORT_VERSION: newest version it imports.' }),
  }),
});

// Supported platforms go through the module_platform join rows; clients see Platform nodes.
const supportedPlatforms = prismaConnectionHelpers(builder, 'ModulePlatform', {
  cursor: 'moduleId_platformId',
  query: () => ({ orderBy: { platformId: 'asc' as const } }),
  select: (nodeSelection) => ({ platform: nodeSelection(true) }),
  resolveNode: (row) => row.platform,
});

export const TdxModuleNode = builder.prismaNode('TdxModule', {
  id: { field: 'id' },
  ...nodeLoading('TdxModule'),
  description: 'A TDX module version (the firmware that runs TDs).',
  fields: (t) => ({
    version: t.exposeString('version', { description: 'major.minor.update.internal.build, e.g. `1.5.06.00.0744`.' }),
    generation: t.exposeInt('generation', { description: GENERATION_DESCRIPTION }),
    maxVcpusPerTd: t.exposeInt('maxVcpusPerTd', {
      nullable: true,
      description: 'MAX_VCPUS_PER_TD as the module reports it (576 on TDX 1.5, over 1000 on 2.0); null if it does not report it.',
    }),
    features: t.field({
      type: [TdxFeatureEnum],
      description: 'TDX_FEATURES0 capabilities reported by the module.',
      select: { features: true },
      resolve: (m) => m.features,
    }),
    migration: t.field({
      type: MigrationVersionsRef,
      nullable: true,
      description: 'TD-migration version ranges; null when the module does not support TD migration.',
      select: { minExportVersion: true, maxExportVersion: true, minImportVersion: true, maxImportVersion: true },
      resolve: (m) => migrationVersionsOf(m),
    }),
    tdcsPages: t.exposeInt('tdcsPages', { description: 'R7: 4 KiB TDCS pages per TD besides its TDR page (from tdcs_base_size).' }),
    tdvpsPages: t.exposeInt('tdvpsPages', { description: 'R7: 4 KiB TDVPS pages (TDVPR + TDCX) per vCPU (from tdvps_base_size).' }),
    supportedPlatforms: t.connection(
      {
        type: PlatformNode,
        description: 'Platforms this module supports.',
        select: (args, ctx, nestedSelection) => ({
          _count: { select: { platforms: true } },
          platforms: supportedPlatforms.getQuery(args, ctx, nestedSelection),
        }),
        resolve: (module, args, ctx) => ({
          ...supportedPlatforms.resolve(module.platforms, args, ctx),
          totalCount: module._count.platforms,
        }),
      },
      { fields: (c) => ({ totalCount: c.int({ description: 'How many platforms, across all pages.', resolve: (r) => r.totalCount }) }) },
    ),
    hosts: t.relatedConnection('hosts', {
      cursor: 'id',
      totalCount: true,
      description: 'Hosts that have this module loaded.',
      query: () => ({ orderBy: { id: 'asc' } }),
    }),
  }),
});

builder.queryFields((t) => ({
  modules: t.prismaConnection({
    type: 'TdxModule',
    cursor: 'id',
    description: 'All TDX modules, by id.',
    totalCount: (_connection, _args, ctx) => ctx.prisma.tdxModule.count(),
    resolve: (query, _root, _args, ctx) => ctx.prisma.tdxModule.findMany({ ...query, orderBy: { id: 'asc' } }),
  }),
  module: t.prismaField({
    type: 'TdxModule',
    nullable: true,
    description: 'A TDX module by version.',
    args: { version: t.arg.string({ required: true }) },
    resolve: (query, _root, args, ctx) => ctx.prisma.tdxModule.findUnique({ ...query, where: moduleWhere({ version: args.version }, 'version') }),
  }),
}));

const MigrationVersionsInput = builder.inputType('MigrationVersionsInput', {
  description: 'TD-migration version ranges: min <= max for export and import.',
  fields: (t) => ({
    minExportVersion: t.int({ required: true }),
    maxExportVersion: t.int({ required: true }),
    minImportVersion: t.int({ required: true }),
    maxImportVersion: t.int({ required: true }),
  }),
});

const CreateModuleInput = builder.inputType('CreateModuleInput', {
  fields: (t) => ({
    version: t.string({ required: true }),
    maxVcpusPerTd: t.int({ description: 'MAX_VCPUS_PER_TD, 1..65535; null or absent when the module does not report it.' }),
    features: t.field({ type: [TdxFeatureEnum], defaultValue: [] }),
    supportedPlatforms: t.field({ type: [PlatformRef], defaultValue: [] }),
    migration: t.field({ type: MigrationVersionsInput, description: 'Absent: no TD-migration support.' }),
    tdcsPages: t.int({ description: 'TDCS pages per TD, 1..1024; absent or null: 6.' }),
    tdvpsPages: t.int({ description: 'TDVPS pages per vCPU, 1..1024; absent or null: 6.' }),
  }),
});

const UpdateModuleInput = builder.inputType('UpdateModuleInput', {
  description: 'Fields to change; absent fields keep their value. `maxVcpusPerTd: null` and `migration: null` clear them.',
  fields: (t) => ({
    version: t.string(),
    maxVcpusPerTd: t.int(),
    features: t.field({ type: [TdxFeatureEnum] }),
    supportedPlatforms: t.field({ type: [PlatformRef], description: 'Replaces the whole list.' }),
    migration: t.field({ type: MigrationVersionsInput }),
    tdcsPages: t.int({ description: 'TDCS pages per TD, 1..1024.' }),
    tdvpsPages: t.int({ description: 'TDVPS pages per vCPU, 1..1024.' }),
    expectedGeneration: t.int({ description: EXPECTED_GENERATION_DESCRIPTION }),
  }),
});

builder.mutationFields((t) => ({
  createModule: t.field({
    description: 'Creates a TDX module. Every invalid field is reported at once in a ValidationError.',
    type: TdxModuleNode,
    errors: { types: inventoryErrorTypes },
    args: { input: t.arg({ type: CreateModuleInput, required: true }) },
    resolve: (_root, { input }, ctx) => createModule(ctx.db, ctx.principal, input),
  }),
  updateModule: t.field({
    description: 'Changes the given fields of a TDX module; the others keep their values.',
    type: TdxModuleNode,
    errors: { types: inventoryErrorTypes },
    args: { module: t.arg({ type: ModuleRef, required: true }), input: t.arg({ type: UpdateModuleInput, required: true }) },
    resolve: (_root, args, ctx) => updateModule(ctx.db, ctx.principal, args.module, args.input),
  }),
  deleteModule: t.field({
    type: DeletedRef,
    description: 'Refused while hosts have this module loaded; nothing changes then.',
    errors: { types: inventoryErrorTypes },
    args: { module: t.arg({ type: ModuleRef, required: true }) },
    resolve: (_root, args, ctx) => deleteModule(ctx.db, ctx.principal, args.module),
  }),
}));
