import { createHost, deleteHost, updateHost } from '../../commands/inventory.js';
import type { Prisma } from '../../db/client.js';
import { kernelWhere, moduleWhere, platformWhere, hostWhere } from '../../inventory/refs.js';
import { builder } from '../builder.js';
import { startTotalCount, totalCountOf } from '../pagination.js';
import { HostRef, KernelRef, ModuleRef, nodeLoading, PlatformRef } from '../refs.js';
import { TdxDisabledReasonCode } from './capacity.js';
import { DeletedRef } from './deleted.js';
import { EXPECTED_GENERATION_DESCRIPTION, GENERATION_DESCRIPTION, inventoryErrorTypes } from './errors.js';

export const HostNode = builder.prismaNode('Host', {
  id: { field: 'id' },
  ...nodeLoading('Host'),
  description: 'A KVM host that may run TDs.',
  fields: (t) => ({
    hostname: t.exposeString('hostname', { description: 'Unique host name.' }),
    generation: t.exposeInt('generation', { description: GENERATION_DESCRIPTION }),
    platform: t.relation('platform', { description: 'The CPU platform of the host.' }),
    module: t.relation('module', { nullable: true, description: 'The loaded TDX module; null when none is loaded.' }),
    kernel: t.relation('kernel', { description: 'The KVM build the host runs.' }),
    presentCpus: t.exposeInt('presentCpus', { description: 'num_present_cpus() of the host.' }),
    guestKeyIds: t.exposeInt('guestKeyIds', {
      description: 'TDX private KeyIDs configured for guests: each running TD uses one.',
    }),
    allocationRatio: t.exposeFloat('allocationRatio', {
      description: 'vCPU allocation ratio (planning policy): TDs may use presentCpus x allocationRatio vCPUs.',
    }),
    kvmIntelTdx: t.exposeBoolean('kvmIntelTdx', { description: 'The kvm_intel.tdx parameter: false turns TDX off quietly (TDX_NOT_REQUESTED).' }),
    memoryMiB: t.exposeInt('memoryMiB', { nullable: true, description: 'RAM in MiB (R7); null when unknown: memory is then not planned on the host.' }),
    reservedMemoryMiB: t.exposeInt('reservedMemoryMiB', { description: 'RAM kept for the host itself (planning policy, R7).' }),
    tds: t.relatedConnection('tds', {
      cursor: 'id',
      totalCount: true,
      description: 'TDs placed on this host.',
      query: () => ({ orderBy: { id: 'asc' } }),
    }),
  }),
});

const HostFilter = builder.inputType('HostFilter', {
  description: 'Every given condition must hold.',
  fields: (t) => ({
    module: t.field({ type: ModuleRef, description: 'Hosts with this module loaded.' }),
    hasModule: t.boolean({ description: 'true: hosts with any module loaded; false: hosts with none.' }),
    platform: t.field({ type: PlatformRef, description: 'Hosts of this platform.' }),
    kernel: t.field({ type: KernelRef, description: 'Hosts running this kernel.' }),
    tdxEnabled: t.boolean({ description: 'R1: hosts where TDX is enabled (true) or disabled (false).' }),
    tdxDisabledReason: t.field({ type: TdxDisabledReasonCode, description: 'R1: hosts where TDX is disabled for (at least) this reason.' }),
    minKvmCapMaxVcpus: t.int({ description: 'R3: hosts whose effective KVM_CAP_MAX_VCPUS is at least this (TDX-enabled hosts only).' }),
    kvmLoads: t.boolean({ description: 'R1 v2: hosts where kvm_intel loads (true) or fails to load (false).' }),
    overFull: t.boolean({
      description: 'R4b, R7: hosts whose placed TDs exceed (true) or stay within (false) their guest KeyIDs, schedulable vCPUs and memory for TDs.',
    }),
    drift: t.boolean({
      description:
        'true: hosts whose last probe report (checkHostDrift) contradicted the plan; false: hosts whose last report agreed. Hosts never checked match neither.',
    }),
  }),
});

type HostFilterShape = typeof HostFilter.$inferInput;

/** The Prisma where clause for a host filter; shared by the page and its totalCount. */
export function hostFilterWhere(filter: HostFilterShape | null | undefined): Prisma.HostWhereInput {
  if (!filter) return {};
  const and: Prisma.HostWhereInput[] = [];
  if (filter.module) and.push({ module: { is: moduleWhere(filter.module, 'filter.module') } });
  if (filter.hasModule != null) and.push({ moduleId: filter.hasModule ? { not: null } : null });
  if (filter.platform) and.push({ platform: { is: platformWhere(filter.platform, 'filter.platform') } });
  if (filter.kernel) and.push({ kernel: { is: kernelWhere(filter.kernel, 'filter.kernel') } });
  // The capacity conditions run in SQL, on the host_tdx_status view (R1 and R3 in SQL, checked
  // against src/capacity/rules.ts by test/capacity/sql-agreement.test.ts).
  if (filter.tdxEnabled != null) and.push({ tdxStatus: { is: { tdxEnabled: filter.tdxEnabled } } });
  if (filter.tdxDisabledReason) and.push({ tdxStatus: { is: { tdxDisabledReasons: { has: filter.tdxDisabledReason } } } });
  if (filter.minKvmCapMaxVcpus != null) and.push({ tdxStatus: { is: { kvmCapMaxVcpus: { gte: filter.minKvmCapMaxVcpus } } } });
  if (filter.kvmLoads != null) and.push({ tdxStatus: { is: { kvmLoads: filter.kvmLoads } } });
  if (filter.overFull != null) and.push({ tdxStatus: { is: { overFull: filter.overFull } } });
  if (filter.drift != null) and.push({ observation: { is: { drift: filter.drift } } });
  return { AND: and };
}

const HostOrderField = builder.enumType('HostOrderField', {
  description: 'A host column to sort hosts by (ties broken by host id).',
  values: {
    HOSTNAME: { description: 'The hostname.' },
    PRESENT_CPUS: { description: 'num_present_cpus().' },
    GUEST_KEY_IDS: { description: 'The guest KeyIDs configured.' },
    TD_COUNT: { description: 'TDs placed on the host (its used KeyIDs).' },
    ALLOCATED_VCPUS: { description: 'vCPUs of the TDs placed on the host.' },
  },
});

const OrderDirection = builder.enumType('OrderDirection', {
  description: 'Ascending or descending.',
  values: { ASC: { description: 'Smallest first.' }, DESC: { description: 'Largest first.' } },
});

const HostOrder = builder.inputType('HostOrder', {
  description: 'How to sort hosts: one column, then host id (so pages are stable).',
  fields: (t) => ({
    field: t.field({ type: HostOrderField, required: true, description: 'The column.' }),
    direction: t.field({ type: OrderDirection, defaultValue: 'ASC', description: 'ASC (default) or DESC.' }),
  }),
});

const HOST_ORDER_COLUMN = {
  HOSTNAME: 'hostname',
  PRESENT_CPUS: 'presentCpus',
  GUEST_KEY_IDS: 'guestKeyIds',
  TD_COUNT: 'tdCount',
  ALLOCATED_VCPUS: 'allocatedVcpus',
} as const satisfies Record<typeof HostOrderField.$inferType, keyof Prisma.HostOrderByWithRelationInput>;

/** Prisma's orderBy for a host order: the column, then id (a unique tie-breaker for cursors). */
function hostOrderBy(order: typeof HostOrder.$inferInput | null | undefined): Prisma.HostOrderByWithRelationInput[] {
  if (!order) return [{ id: 'asc' }];
  const direction = order.direction === 'DESC' ? 'desc' : 'asc';
  return [{ [HOST_ORDER_COLUMN[order.field]]: direction }, { id: direction }];
}

builder.queryFields((t) => ({
  hosts: t.prismaConnection({
    type: 'Host',
    cursor: 'id',
    description: 'Hosts, by id unless orderBy says otherwise, optionally filtered.',
    args: {
      filter: t.arg({ type: HostFilter }),
      orderBy: t.arg({ type: HostOrder, description: 'Sort by a host column (then by id); default: by id.' }),
    },
    // The count runs beside the page when both are asked (startTotalCount in ../pagination.ts).
    totalCount: (_connection, args, ctx, info) => totalCountOf(info, () => ctx.prisma.host.count({ where: hostFilterWhere(args.filter) })),
    resolve: (query, _root, args, ctx, info) => {
      startTotalCount(info, () => ctx.prisma.host.count({ where: hostFilterWhere(args.filter) }));
      return ctx.prisma.host.findMany({ ...query, where: hostFilterWhere(args.filter), orderBy: hostOrderBy(args.orderBy) });
    },
  }),
  host: t.prismaField({
    type: 'Host',
    nullable: true,
    description: 'A host by hostname.',
    args: { hostname: t.arg.string({ required: true }) },
    resolve: (query, _root, args, ctx) => ctx.prisma.host.findUnique({ ...query, where: hostWhere({ hostname: args.hostname }, 'hostname') }),
  }),
}));

const CreateHostInput = builder.inputType('CreateHostInput', {
  fields: (t) => ({
    hostname: t.string({ required: true }),
    platform: t.field({ type: PlatformRef, required: true }),
    module: t.field({ type: ModuleRef, description: 'The loaded TDX module; absent or null: none.' }),
    kernel: t.field({ type: KernelRef, required: true }),
    presentCpus: t.int({ required: true, description: "num_present_cpus(): 1..the platform's logical CPUs." }),
    guestKeyIds: t.int({ required: true, description: 'TDX private KeyIDs for guests (0 disables TDX).' }),
    allocationRatio: t.float({ defaultValue: 1.0 }),
    kvmIntelTdx: t.boolean({ description: 'kvm_intel.tdx; absent or null: true.' }),
    memoryMiB: t.int({ description: 'RAM in MiB; absent or null: unknown.' }),
    reservedMemoryMiB: t.int({ description: 'RAM kept for the host itself, at most memoryMiB; absent or null: 0.' }),
  }),
});

const UpdateHostInput = builder.inputType('UpdateHostInput', {
  description: 'Fields to change; absent fields keep their value. `module: null` unloads the module; `memoryMiB: null` makes the memory unknown.',
  fields: (t) => ({
    hostname: t.string(),
    platform: t.field({ type: PlatformRef }),
    module: t.field({ type: ModuleRef }),
    kernel: t.field({ type: KernelRef }),
    presentCpus: t.int(),
    guestKeyIds: t.int(),
    allocationRatio: t.float(),
    kvmIntelTdx: t.boolean({ description: 'kvm_intel.tdx.' }),
    memoryMiB: t.int({ description: 'RAM in MiB; null: unknown.' }),
    reservedMemoryMiB: t.int({ description: 'RAM kept for the host itself.' }),
    expectedGeneration: t.int({ description: EXPECTED_GENERATION_DESCRIPTION }),
  }),
});

builder.mutationFields((t) => ({
  createHost: t.field({
    description: 'Creates a host. Every invalid field is reported at once in a ValidationError.',
    type: HostNode,
    errors: { types: inventoryErrorTypes },
    args: { input: t.arg({ type: CreateHostInput, required: true }) },
    resolve: (_root, { input }, ctx) => createHost(ctx.db, ctx.principal, input),
  }),
  updateHost: t.field({
    description: 'Changes the given fields of a host; the others keep their values.',
    type: HostNode,
    errors: { types: inventoryErrorTypes },
    args: { host: t.arg({ type: HostRef, required: true }), input: t.arg({ type: UpdateHostInput, required: true }) },
    resolve: (_root, args, ctx) => updateHost(ctx.db, ctx.principal, args.host, args.input),
  }),
  deleteHost: t.field({
    type: DeletedRef,
    description: 'Refused while TDs are placed on the host.',
    errors: { types: inventoryErrorTypes },
    args: { host: t.arg({ type: HostRef, required: true }) },
    resolve: (_root, args, ctx) => deleteHost(ctx.db, ctx.principal, args.host),
  }),
}));
