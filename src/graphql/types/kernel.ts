import type { ModuleMetadataPolicy, TdxInitFailure } from '../../capacity/rules.js';
import { kernelWhere } from '../../inventory/refs.js';
import { createKernel, deleteKernel, updateKernel } from '../../commands/inventory.js';
import { builder } from '../builder.js';
import { KernelRef, nodeLoading } from '../refs.js';
import { DeletedRef } from './deleted.js';
import { EXPECTED_GENERATION_DESCRIPTION, GENERATION_DESCRIPTION, inventoryErrorTypes } from './errors.js';

export const TdxVcpuPolicyEnum = builder.enumType('TdxVcpuPolicy', {
  description: 'How a KVM build caps the vCPUs of a TD.',
  values: {
    PRESENT_CPUS: {
      description: 'Upstream (merged): TDX is disabled if MAX_VCPUS_PER_TD < num_present_cpus(); a TD gets min(KVM_MAX_VCPUS, num_present_cpus()).',
    },
    MODULE_LIMIT: {
      description: 'v19 of the patch series: a TD gets min(KVM_MAX_VCPUS, MAX_VCPUS_PER_TD).',
    },
  } as const,
});

export const TdxInitFailureEnum = builder.enumType('TdxInitFailure', {
  description: 'What a failed TDX bring-up does to KVM (shared/domain.md, Kernel, v2).',
  values: {
    FAIL_KVM_LOAD: {
      description: 'Mainline: tdx_bringup() returns the error and vt_init() fails, so with kvm_intel.tdx=1 kvm_intel does not load: no VM of any kind runs.',
    },
    DISABLE_TDX: { description: 'v19 of the patch series: enable_tdx = enable_tdx && !__tdx_bringup(): KVM loads without TDX.' },
  } satisfies Record<TdxInitFailure, { description: string }>,
});

export const ModuleMetadataPolicyEnum = builder.enumType('ModuleMetadataPolicy', {
  description: "Whether the kernel requires the module's MAX_VCPUS_PER_TD metadata and NO_RBP_MOD (shared/domain.md, Kernel, v2).",
  values: {
    STRICT: {
      description:
        'Mainline: init_tdx_module() reads MAX_VCPUS_PER_TD as mandatory metadata and check_features() refuses a module without NO_RBP_MOD; either failure fails module initialisation.',
    },
    LENIENT: { description: 'v19 of the patch series: a missing MAX_VCPUS_PER_TD counts as 65535 (R2); NO_RBP_MOD is not checked.' },
  } satisfies Record<ModuleMetadataPolicy, { description: string }>,
});

export const KernelNode = builder.prismaNode('Kernel', {
  id: { field: 'id' },
  ...nodeLoading('Kernel'),
  description: 'A KVM build as deployed.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique name, e.g. `linux-6.16`.' }),
    kvmMaxVcpus: t.exposeInt('kvmMaxVcpus', {
      description: 'KVM_MAX_VCPUS: 1024 on x86 by default, up to 4096 with CONFIG_KVM_MAX_NR_VCPUS.',
    }),
    tdxVcpuPolicy: t.expose('tdxVcpuPolicy', { type: TdxVcpuPolicyEnum, description: 'How this build caps the vCPUs of a TD.' }),
    tdxInitFailure: t.expose('tdxInitFailure', { type: TdxInitFailureEnum, description: 'R1 v2: what a failed TDX bring-up does to KVM on this build.' }),
    moduleMetadata: t.expose('moduleMetadata', {
      type: ModuleMetadataPolicyEnum,
      description: 'R1 v2, R2: whether this build requires MAX_VCPUS_PER_TD and NO_RBP_MOD of the module.',
    }),
    generation: t.exposeInt('generation', { description: GENERATION_DESCRIPTION }),
    hosts: t.relatedConnection('hosts', {
      cursor: 'id',
      totalCount: true,
      description: 'Hosts running this kernel.',
      query: () => ({ orderBy: { id: 'asc' } }),
    }),
  }),
});

builder.queryFields((t) => ({
  kernels: t.prismaConnection({
    type: 'Kernel',
    cursor: 'id',
    description: 'All kernels, by id.',
    totalCount: (_connection, _args, ctx) => ctx.prisma.kernel.count(),
    resolve: (query, _root, _args, ctx) => ctx.prisma.kernel.findMany({ ...query, orderBy: { id: 'asc' } }),
  }),
  kernel: t.prismaField({
    type: 'Kernel',
    nullable: true,
    description: 'A kernel by name.',
    args: { name: t.arg.string({ required: true }) },
    resolve: (query, _root, args, ctx) => ctx.prisma.kernel.findUnique({ ...query, where: kernelWhere({ name: args.name }, 'name') }),
  }),
}));

const CreateKernelInput = builder.inputType('CreateKernelInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    kvmMaxVcpus: t.int({ required: true, description: 'KVM_MAX_VCPUS of the build: 1..4096.' }),
    tdxVcpuPolicy: t.field({ type: TdxVcpuPolicyEnum, required: true }),
    tdxInitFailure: t.field({ type: TdxInitFailureEnum, description: 'Absent or null: FAIL_KVM_LOAD (mainline).' }),
    moduleMetadata: t.field({ type: ModuleMetadataPolicyEnum, description: 'Absent or null: STRICT (mainline).' }),
  }),
});

const UpdateKernelInput = builder.inputType('UpdateKernelInput', {
  description: 'Fields to change; absent fields keep their value.',
  fields: (t) => ({
    name: t.string(),
    kvmMaxVcpus: t.int(),
    tdxVcpuPolicy: t.field({ type: TdxVcpuPolicyEnum }),
    tdxInitFailure: t.field({ type: TdxInitFailureEnum, description: 'What a failed TDX bring-up does to KVM.' }),
    moduleMetadata: t.field({ type: ModuleMetadataPolicyEnum, description: 'Whether module metadata is mandatory.' }),
    expectedGeneration: t.int({ description: EXPECTED_GENERATION_DESCRIPTION }),
  }),
});

builder.mutationFields((t) => ({
  createKernel: t.field({
    description: 'Creates a kernel. Every invalid field is reported at once in a ValidationError.',
    type: KernelNode,
    errors: { types: inventoryErrorTypes },
    args: { input: t.arg({ type: CreateKernelInput, required: true }) },
    resolve: (_root, { input }, ctx) => createKernel(ctx.db, ctx.principal, input),
  }),
  updateKernel: t.field({
    description: 'Changes the given fields of a kernel; the others keep their values.',
    type: KernelNode,
    errors: { types: inventoryErrorTypes },
    args: { kernel: t.arg({ type: KernelRef, required: true }), input: t.arg({ type: UpdateKernelInput, required: true }) },
    resolve: (_root, args, ctx) => updateKernel(ctx.db, ctx.principal, args.kernel, args.input),
  }),
  deleteKernel: t.field({
    type: DeletedRef,
    description: 'Refused while hosts run this kernel.',
    errors: { types: inventoryErrorTypes },
    args: { kernel: t.arg({ type: KernelRef, required: true }) },
    resolve: (_root, args, ctx) => deleteKernel(ctx.db, ctx.principal, args.kernel),
  }),
}));
