import { createHost, deleteHost, updateHost } from '../../commands/inventory.js';
import type { FieldNode, GraphQLResolveInfo } from 'graphql';
import type { Prisma } from '../../db/client.js';
import { kernelWhere, moduleWhere, platformWhere, hostWhere } from '../../inventory/refs.js';
import {
  hostColumnsReadBy,
  hostCount,
  hostPage,
  type HostColumn,
  isKernelColumn,
  isModuleColumn,
  isPlatformColumn,
  KERNEL_COLUMN_NAMES,
  MODULE_COLUMN_NAMES,
  PLATFORM_COLUMN_NAMES,
  TD_COLUMN_NAMES,
  type HostPageFilter,
  type HostPageQuery,
  type HostRowShape,
  type KeyRef,
  type TdColumn,
} from '../../planning/host-page.js';
import { builder } from '../builder.js';
import { startTotalCount, totalCountOf } from '../pagination.js';
import { fieldsOf, fieldsUnder } from '../selection.js';
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

/** The Prisma where clause for a host filter: the page when Prisma answers it (hostPageFilter has the same validation). */
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

// The `hosts` page from one hand-written statement (hostPage of src/planning/host-page.ts) when
// Pothos' query for the nodes asks only for what it carries: the host's columns, and scalar columns
// of kernel, module (and its platforms' ids, as the capacity facts select them) and platform, and
// the TDs' connection in its default order from its start (with its totalCount). Any other shape
// (a TDs' cursor or last, nested connections, a select) is Prisma's findMany as Pothos plans it.

/** The columns a relation's `include` value asks for (true: all), or undefined when it asks for more. */
function relationColumns<C extends string>(wanted: unknown, all: readonly C[], isColumn: (f: string) => f is C): C[] | undefined {
  if (wanted === true) return [...all];
  if (typeof wanted !== 'object' || wanted === null) return undefined;
  const { select, ...rest } = wanted as { select?: Record<string, unknown> };
  if (Object.keys(rest).length > 0 || typeof select !== 'object' || select === null) return undefined;
  const columns: C[] = [];
  for (const [field, value] of Object.entries(select)) {
    if (value !== true || !isColumn(field)) return undefined;
    columns.push(field);
  }
  return columns.length ? columns : undefined;
}

const PLATFORM_IDS = { select: { platformId: true } };

// The TD fields that read one column each; __typename reads none.
const TD_FIELD_COLUMNS = new Map<string, TdColumn | null>([
  ['id', 'id'],
  ['name', 'name'],
  ['generation', 'generation'],
  ['vcpus', 'vcpus'],
  ['migratable', 'migratable'],
  ['memoryMiB', 'memoryMiB'],
  ['__typename', null],
]);

/**
 * The TD columns the `tds` connections among a host's `fields` read: id (the cursors) and a column per
 * field, with directives or not (reading more columns is safe); every column when one of their fields
 * is not a column. PostgreSQL builds and the server
 * parses each TD as JSON, so a hosts page of 2,000 TDs reads 2 or 3 columns each, not 7.
 */
function tdColumnsOf(hostFields: readonly FieldNode[], info: GraphQLResolveInfo): readonly TdColumn[] {
  const tds = fieldsUnder(hostFields, 'tds', info);
  const columns = new Set<TdColumn>(['id']);
  for (const field of [...fieldsUnder(fieldsUnder(tds, 'edges', info), 'node', info), ...fieldsUnder(tds, 'nodes', info)]) {
    const column = TD_FIELD_COLUMNS.get(field.name.value);
    if (column === undefined) return TD_COLUMN_NAMES;
    if (column) columns.add(column);
  }
  return TD_COLUMN_NAMES.filter((c) => columns.has(c));
}

// The Host fields that read one host column each: a relation its key, the TDs' connection the id;
// __typename none.
const HOST_SCALAR_FIELD_COLUMNS = new Map<string, HostColumn | null>([
  ['id', 'id'],
  ['hostname', 'hostname'],
  ['generation', 'generation'],
  ['presentCpus', 'presentCpus'],
  ['guestKeyIds', 'guestKeyIds'],
  ['allocationRatio', 'allocationRatio'],
  ['kvmIntelTdx', 'kvmIntelTdx'],
  ['memoryMiB', 'memoryMiB'],
  ['reservedMemoryMiB', 'reservedMemoryMiB'],
  ['__typename', null],
]);
const HOST_FIELD_COLUMNS = new Map<string, HostColumn | null>([
  ...HOST_SCALAR_FIELD_COLUMNS,
  ['platform', 'platformId'],
  ['module', 'moduleId'],
  ['kernel', 'kernelId'],
  ['tds', 'id'],
]);

/** The Host fields that read host columns and nothing else (no relation, connection or capacity field). */
export const HOST_SCALAR_FIELDS: ReadonlySet<string> = new Set(HOST_SCALAR_FIELD_COLUMNS.keys());

/**
 * The host columns the `hostFields` of a page read, with what hostPage reads itself (id, the order
 * column, the keys of the relations it carries); undefined (every column, as Prisma's include) when
 * one of them is not a column (a capacity field reads sixteen). One host and a hosts page read 6 or 7
 * of 17: PostgreSQL and the driver handle fewer values (bench/README.md, issue 17).
 */
function hostColumnsOf(hostFields: readonly FieldNode[], shape: HostRowShape, order: HostColumn | undefined): HostColumn[] | undefined {
  const columns = new Set(hostColumnsReadBy(order, shape));
  for (const field of hostFields) {
    const column = HOST_FIELD_COLUMNS.get(field.name.value);
    if (column === undefined) return undefined;
    if (column) columns.add(column);
  }
  return [...columns];
}

/** The row shape for Pothos' include of the nodes; undefined when the statement cannot carry it. */
function carriedShape(include: unknown, tdColumns: readonly TdColumn[]): HostRowShape | undefined {
  if (include === undefined) return {};
  if (typeof include !== 'object' || include === null) return undefined;
  const shape: { -readonly [K in keyof HostRowShape]: HostRowShape[K] } = {};
  for (const [relation, wanted] of Object.entries(include)) {
    if (relation === 'kernel') {
      if (!(shape.kernel = relationColumns(wanted, KERNEL_COLUMN_NAMES, isKernelColumn))) return undefined;
    } else if (relation === 'platform') {
      if (!(shape.platform = relationColumns(wanted, PLATFORM_COLUMN_NAMES, isPlatformColumn))) return undefined;
    } else if (relation === 'module') {
      // Its platforms' ids (`platforms: { select: { platformId: true } }`, as the capacity facts read
      // them) are carried, beside all its columns (`include`) or some (`select`); nothing else nested.
      if (typeof wanted === 'object' && wanted !== null && 'include' in wanted) {
        const { include: nested, ...rest } = wanted as { include: unknown };
        if (Object.keys(rest).length > 0 || JSON.stringify(nested) !== JSON.stringify({ platforms: PLATFORM_IDS })) return undefined;
        shape.module = { columns: MODULE_COLUMN_NAMES, platforms: true };
        continue;
      }
      const select = typeof wanted === 'object' && wanted !== null ? (wanted as { select?: Record<string, unknown> }).select : undefined;
      const platforms = select?.platforms;
      if (platforms !== undefined && JSON.stringify(platforms) !== JSON.stringify(PLATFORM_IDS)) return undefined;
      const columnsOnly =
        platforms === undefined ? wanted : { ...(wanted as object), select: Object.fromEntries(Object.entries(select!).filter(([k]) => k !== 'platforms')) };
      const columns = relationColumns(columnsOnly, MODULE_COLUMN_NAMES, isModuleColumn);
      if (!columns) return undefined;
      shape.module = { columns, platforms: platforms !== undefined };
    } else if (relation === 'tds') {
      // The TDs' connection as Pothos plans it with its default order and no cursor: the first
      // take (first + 1) by id, every column. Anything else (a cursor, last, nested relations) is Prisma's.
      if (typeof wanted !== 'object' || wanted === null) return undefined;
      const { orderBy, take, skip, ...rest } = wanted as { orderBy?: unknown; take?: unknown; skip?: unknown };
      if (Object.keys(rest).length > 0 || JSON.stringify(orderBy) !== JSON.stringify({ id: 'asc' })) return undefined;
      if (typeof take !== 'number' || !Number.isSafeInteger(take) || take <= 0 || skip !== 0) return undefined;
      shape.tds = { take, columns: tdColumns };
    } else if (relation === '_count') {
      // The TDs' totalCount.
      if (JSON.stringify(wanted) !== JSON.stringify({ select: { tds: true } })) return undefined;
      shape.tdCount = true;
    } else return undefined;
  }
  return shape;
}

const keyRef = (where: { id?: number; name?: string; version?: string }): KeyRef =>
  where.id !== undefined ? { id: where.id } : { name: (where.name ?? where.version)! };

/** The filter as hostPage takes it (the same validation as hostFilterWhere). */
function hostPageFilter(filter: HostFilterShape | null | undefined): HostPageFilter {
  if (!filter) return {};
  return {
    module: filter.module ? keyRef(moduleWhere(filter.module, 'filter.module')) : undefined,
    hasModule: filter.hasModule ?? undefined,
    platform: filter.platform ? keyRef(platformWhere(filter.platform, 'filter.platform')) : undefined,
    kernel: filter.kernel ? keyRef(kernelWhere(filter.kernel, 'filter.kernel')) : undefined,
    tdxEnabled: filter.tdxEnabled ?? undefined,
    tdxDisabledReason: filter.tdxDisabledReason ?? undefined,
    minKvmCapMaxVcpus: filter.minKvmCapMaxVcpus ?? undefined,
    kvmLoads: filter.kvmLoads ?? undefined,
    overFull: filter.overFull ?? undefined,
    drift: filter.drift ?? undefined,
  };
}

/** hostPage's query for Pothos' query of the page, or undefined when Prisma must answer it. */
function hostPageQuery(
  query: Record<string, unknown>,
  filter: HostPageFilter,
  orderBy: typeof HostOrder.$inferInput | null | undefined,
  hostFields: readonly FieldNode[],
  info: GraphQLResolveInfo,
): HostPageQuery | undefined {
  const { include, take, skip, cursor, ...rest } = query;
  if (Object.keys(rest).length > 0 || typeof take !== 'number' || typeof skip !== 'number') return undefined;
  if (
    cursor !== undefined &&
    (typeof cursor !== 'object' || cursor === null || Object.keys(cursor).join() !== 'id' || typeof (cursor as { id: unknown }).id !== 'number')
  )
    return undefined;
  const shape = carriedShape(include, tdColumnsOf(hostFields, info));
  if (!shape) return undefined;
  const order = orderBy ? { column: HOST_ORDER_COLUMN[orderBy.field], direction: orderBy.direction === 'DESC' ? ('desc' as const) : ('asc' as const) } : null;
  return {
    filter,
    order,
    take,
    skip,
    cursor: cursor as { id: number } | undefined,
    shape: { ...shape, host: hostColumnsOf(hostFields, shape, order?.column) },
  };
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
    totalCount: (_connection, args, ctx, info) => totalCountOf(info, () => hostCount(ctx.db, hostPageFilter(args.filter))),
    resolve: (query, _root, args, ctx, info) => {
      // The filter once, for the count and the page (hostFilterWhere only when Prisma answers).
      const filter = hostPageFilter(args.filter);
      startTotalCount(info, () => hostCount(ctx.db, filter));
      const top = fieldsOf(info);
      const nodeFields = [...fieldsUnder(fieldsUnder(top, 'edges', info), 'node', info), ...fieldsUnder(top, 'nodes', info)];
      const page = hostPageQuery(query, filter, args.orderBy, nodeFields, info);
      if (page) return hostPage(ctx.db, page) as ReturnType<typeof ctx.prisma.host.findMany<typeof query>>;
      return ctx.prisma.host.findMany({ ...query, where: hostFilterWhere(args.filter), orderBy: hostOrderBy(args.orderBy) });
    },
  }),
  host: t.prismaField({
    type: 'Host',
    nullable: true,
    description: 'A host by hostname.',
    args: { hostname: t.arg.string({ required: true }) },
    resolve: async (query, _root, args, ctx, info) => {
      const where = hostWhere({ hostname: args.hostname }, 'hostname');
      // The same statement as the hosts page's when it carries the selection: prepared, it costs
      // less than Prisma's statement and result mapping (bench/README.md, "One host").
      const page = hostPageQuery({ ...query, take: 1, skip: 0 }, { hostname: where.hostname }, null, fieldsOf(info), info);
      if (page)
        return ((await hostPage(ctx.db, page))[0] ?? null) as Awaited<ReturnType<typeof ctx.prisma.host.findUnique<typeof query & { where: typeof where }>>>;
      return ctx.prisma.host.findUnique({ ...query, where });
    },
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
