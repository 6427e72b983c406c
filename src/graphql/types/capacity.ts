// Capacity answers on hosts, kernels and modules (R1-R4 of shared/domain.md). Values come from
// the pure rules in src/capacity/rules.ts; this file only loads their facts and maps the types.
import {
  effectiveMaxVcpusPerTd,
  hostCapacity,
  KVM_CAP_LIMIT_FACTORS,
  systemKvmCapMaxVcpus,
  TDX_DISABLED_EFFECTS,
  TDX_DISABLED_REASON_CODES,
  type HostCapacity,
  type TdxDisabledReason,
} from '../../capacity/rules.js';
import { hostFacts, hostFactsSelect, hostUsage, hostUsageSelect, moduleFactsSelect, moduleFacts } from '../../planning/host-facts.js';
import { fleetSummary, type SummaryTotals, type FleetSummary, type GroupTotals } from '../../planning/fleet-summary.js';
import { GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { builder } from '../builder.js';
import type { Context } from '../context.js';
import type { SchemaTypesOf } from '../builder.js';

export const TdxDisabledReasonCode = builder.enumType('TdxDisabledReasonCode', {
  description:
    'Why TDX is disabled on a host (R1 v2), in the order the kernel meets them: stage 0 (TDX quietly off) then stage 1 (module initialisation and KVM checks). Every failing condition is reported.',
  values: {
    TDX_NOT_REQUESTED: { description: 'Stage 0: kvm_intel.tdx=0, so KVM never brings TDX up.' },
    NO_MODULE: { description: 'Stage 0: no TDX module is loaded (the first SEAMCALL gives -ENODEV).' },
    PLATFORM_UNSUPPORTED: { description: 'Stage 0: the loaded module does not support the host platform (treated like no module).' },
    NO_GUEST_KEYIDS: { description: 'Stage 0: no TDX private KeyIDs are configured for guests (tdx.c: "no TDX private KeyIDs available").' },
    NO_RBP_MOD: {
      description: 'Stage 1, STRICT kernels: the module lacks TDX_FEATURES0.NO_RBP_MOD ("frame pointer (RBP) clobber bug present, upgrade TDX module").',
    },
    NO_MAX_VCPUS_METADATA: { description: 'Stage 1, STRICT kernels: the module does not report MAX_VCPUS_PER_TD, mandatory global metadata.' },
    NO_TOPOLOGY_ENUM: { description: 'Stage 1: the module lacks TDX_FEATURES0.TOPOLOGY_ENUM; tdx.c refuses such modules.' },
    MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS: {
      description:
        'Stage 1, under the PRESENT_CPUS policy: MAX_VCPUS_PER_TD < num_present_cpus() (tdx.c: "Disable TDX: MAX_VCPU_PER_TD (%u) smaller than number of logical CPUs (%u)").',
    },
  } satisfies Record<(typeof TDX_DISABLED_REASON_CODES)[number], { description: string }>,
});

export const TdxDisabledEffectEnum = builder.enumType('TdxDisabledEffect', {
  description: 'What a failing R1 condition costs the host (R1 v2).',
  values: {
    TDX_DISABLED: { description: 'KVM loads without TDX: other VMs still run.' },
    KVM_LOAD_FAILS: {
      description: 'kvm_intel fails to load (a FAIL_KVM_LOAD kernel whose TDX bring-up fails at stage 1): no VM of any kind runs on the host.',
    },
  } satisfies Record<(typeof TDX_DISABLED_EFFECTS)[number], { description: string }>,
});

export const KvmCapLimitFactor = builder.enumType('KvmCapLimitFactor', {
  description: 'What binds the effective KVM_CAP_MAX_VCPUS of a TD (R3): every factor equal to the minimum.',
  values: {
    KVM_MAX_VCPUS: { description: "The kernel's KVM_MAX_VCPUS." },
    PRESENT_CPUS: { description: "The host's num_present_cpus() (PRESENT_CPUS policy)." },
    MODULE_MAX_VCPUS_PER_TD: { description: "The module's MAX_VCPUS_PER_TD (MODULE_LIMIT policy)." },
  } satisfies Record<(typeof KVM_CAP_LIMIT_FACTORS)[number], { description: string }>,
});

export const TdxDisabledReasonRef = builder.objectRef<TdxDisabledReason>('TdxDisabledReason').implement({
  description: 'One failing condition of R1, with the numbers.',
  fields: (t) => ({
    code: t.field({ type: TdxDisabledReasonCode, description: 'Which condition of R1 fails.', resolve: (r) => r.code }),
    message: t.exposeString('message', { description: 'e.g. "MAX_VCPUS_PER_TD 576 < 1376 present CPUs".' }),
    effect: t.field({ type: TdxDisabledEffectEnum, description: 'What this condition costs the host (R1 v2).', resolve: (r) => r.effect }),
  }),
});

// Every capacity field needs the same facts of the host row. They are planned into the host's
// query once (`planCapacityFacts` below), and the fields resolve without the prisma plugin's
// per-field loader check: with a `select` on each field, the plugin looked up its selection map
// for every field of every row (600 look-ups for a page of 100 hosts with six capacity fields),
// about 7% of the capacity page's CPU in a profile (bench/README.md, issue 17).
const capacitySelect = { ...hostFactsSelect, ...hostUsageSelect };

type CapacityRow = Parameters<typeof hostFacts>[0] & Parameters<typeof hostUsage>[0];
const capacityCache = new WeakMap<object, HostCapacity | Promise<HostCapacity>>();

/** The keys a Prisma `select` asks for: its columns, and its relations with their own. */
interface SelectShape {
  columns: readonly string[];
  relations: readonly (readonly [string, SelectShape])[];
}

function shapeOf(select: Readonly<Record<string, unknown>>): SelectShape {
  const columns: string[] = [];
  const relations: [string, SelectShape][] = [];
  for (const [key, wanted] of Object.entries(select)) {
    if (wanted === true) columns.push(key);
    else relations.push([key, shapeOf((wanted as { select: Readonly<Record<string, unknown>> }).select)]);
  }
  return { columns, relations };
}

/** Whether `value` carries every key of `shape` (a null relation counts as loaded). */
function carries(value: unknown, shape: SelectShape): boolean {
  if (value === null) return true;
  if (typeof value !== 'object') return false;
  const row = value as Record<string, unknown>;
  for (const column of shape.columns) if (row[column] === undefined) return false;
  for (const [relation, nested] of shape.relations) {
    const got = row[relation];
    if (Array.isArray(got)) {
      for (const item of got) if (!carries(item, nested)) return false;
    } else if (!carries(got, nested)) return false;
  }
  return true;
}

const capacityShape = shapeOf(capacitySelect);

function hasCapacityFacts<R extends object>(row: R): row is R & CapacityRow {
  return carries(row, capacityShape);
}

/**
 * The rules' answer for one host row, computed once however many fields ask. A row that came
 * without the facts (a mutation's result, a row some other resolver loaded) gets them in one
 * query, shared by its fields; Prisma batches the rows of one tick into one statement.
 */
function capacityOf(row: { id: number }, ctx: Context): HostCapacity | Promise<HostCapacity> {
  let capacity = capacityCache.get(row);
  if (!capacity) {
    capacity = hasCapacityFacts(row)
      ? hostCapacity(hostFacts(row), hostUsage(row))
      : ctx.prisma.host.findUniqueOrThrow({ where: { id: row.id }, select: capacitySelect }).then((r) => hostCapacity(hostFacts(r), hostUsage(r)));
    capacityCache.set(row, capacity);
  }
  return capacity;
}

/** A resolver of one capacity field: `pick` of the row's capacity. */
function capacity<T>(pick: (c: HostCapacity) => T) {
  return (row: { id: number }, _args: object, ctx: Context): T | Promise<T> => {
    const c = capacityOf(row, ctx);
    return c instanceof Promise ? c.then(pick) : pick(c);
  };
}

const CAPACITY_FIELDS = [
  'tdxEnabled',
  'tdxDisabledReasons',
  'kvmLoads',
  'kvmCapMaxVcpus',
  'kvmCapMaxVcpusLimitedBy',
  'usedKeyIds',
  'freeKeyIds',
  'allocatedVcpus',
  'schedulableVcpus',
  'freeVcpus',
  'excessVcpus',
  'excessKeyIds',
  'pamtMiB',
  'tdMemoryMiB',
  'allocatedMemoryMiB',
  'freeMemoryMiB',
  'excessMemoryMiB',
] as const;

/**
 * Plans the capacity facts into every host query that asks for a capacity field: the prisma
 * plugin merges a field's `pothosPrismaSelect` extension into the query it builds from the
 * selection, exactly as for a field declared with `select`, but leaves the field's resolver as it
 * is (that wrapper is decided when the schema is built, from the field's options). Called on the
 * built schema; test/graphql/read.test.ts checks the capacity page stays one SQL round trip.
 */
export function planCapacityFacts(schema: GraphQLSchema): void {
  const host = schema.getType('Host');
  if (!(host instanceof GraphQLObjectType)) throw new Error('planCapacityFacts: no Host type');
  const fields = host.getFields();
  for (const name of CAPACITY_FIELDS) {
    const field = fields[name];
    if (!field) throw new Error(`planCapacityFacts: Host.${name} missing`);
    (field as { extensions: Record<string, unknown> }).extensions = { ...field.extensions, pothosPrismaSelect: capacitySelect };
  }
}

builder.prismaObjectFields('Host', (t) => ({
  tdxEnabled: t.boolean({
    description:
      'R1 v2: TDX is requested (kvm_intel.tdx=1), a module is loaded and supports the platform, guest KeyIDs exist, the module initialises (TOPOLOGY_ENUM; on STRICT kernels NO_RBP_MOD and MAX_VCPUS_PER_TD reported), and (PRESENT_CPUS) MAX_VCPUS_PER_TD >= present CPUs.',
    resolve: capacity((c) => c.tdxEnabled),
  }),
  tdxDisabledReasons: t.field({
    type: [TdxDisabledReasonRef],
    description: 'Every failing condition of R1 v2 with its effect, in the kernel order; empty when TDX is enabled.',
    resolve: capacity((c) => c.tdxDisabledReasons),
  }),
  kvmLoads: t.boolean({
    description: 'R1 v2: false when kvm_intel fails to load (some reason has effect KVM_LOAD_FAILS): then no VM of any kind runs on the host.',
    resolve: capacity((c) => c.kvmLoads),
  }),
  kvmCapMaxVcpus: t.int({
    nullable: true,
    description:
      "R3: KVM_CAP_MAX_VCPUS on a TD's VM fd. PRESENT_CPUS: min(KVM_MAX_VCPUS, num_present_cpus()) (tdx_vm_init); MODULE_LIMIT: min(KVM_MAX_VCPUS, MAX_VCPUS_PER_TD). Null when TDX is disabled.",
    resolve: capacity((c) => c.kvmCapMaxVcpus),
  }),
  kvmCapMaxVcpusLimitedBy: t.field({
    type: [KvmCapLimitFactor],
    description: 'R3: every factor equal to the effective cap (ties list several); empty when TDX is disabled.',
    resolve: capacity((c) => c.kvmCapMaxVcpusLimitedBy),
  }),
  usedKeyIds: t.int({
    description: 'Guest KeyIDs in use: one per TD placed on the host.',
    resolve: capacity((c) => c.usedKeyIds),
  }),
  freeKeyIds: t.int({
    description: 'Guest KeyIDs left: how many more TDs the host can start (never negative).',
    resolve: capacity((c) => c.freeKeyIds),
  }),
  allocatedVcpus: t.int({
    description: 'Sum of the vCPUs of the TDs placed on the host.',
    resolve: capacity((c) => c.allocatedVcpus),
  }),
  schedulableVcpus: t.int({
    description: 'presentCpus x allocationRatio, rounded down: the vCPUs TDs may use on the host (planning policy).',
    resolve: capacity((c) => c.schedulableVcpus),
  }),
  freeVcpus: t.int({
    description: 'schedulableVcpus - allocatedVcpus, never negative.',
    resolve: capacity((c) => c.freeVcpus),
  }),
  excessVcpus: t.int({
    description: 'R4b: how far allocatedVcpus exceeds schedulableVcpus (an over-full host); 0 when within.',
    resolve: capacity((c) => c.excessVcpus),
  }),
  excessKeyIds: t.int({
    description: 'R4b: how many more TDs are placed than guest KeyIDs configured; 0 when within.',
    resolve: capacity((c) => c.excessKeyIds),
  }),
  pamtMiB: t.int({
    nullable: true,
    description: 'R7: memory the PAMT takes, ceil(memoryMiB / 256); null where TDX is disabled or the memory is unknown.',
    resolve: capacity((c) => c.pamtMiB),
  }),
  tdMemoryMiB: t.int({
    nullable: true,
    description: 'R7: memory usable for TDs, memoryMiB - reservedMemoryMiB - pamtMiB; null where TDX is disabled or the memory is unknown.',
    resolve: capacity((c) => c.tdMemoryMiB),
  }),
  allocatedMemoryMiB: t.int({
    nullable: true,
    description:
      "R7: the footprints of the placed TDs of known memory (memory, secure EPT and its mirror, control pages), rounded up; null where TDX is disabled or the host's memory is unknown.",
    resolve: capacity((c) => c.allocatedMemoryMiB),
  }),
  freeMemoryMiB: t.int({
    nullable: true,
    description: "R7: tdMemoryMiB less the footprints, rounded down, never negative; null where TDX is disabled or the host's memory is unknown.",
    resolve: capacity((c) => c.freeMemoryMiB),
  }),
  excessMemoryMiB: t.int({
    nullable: true,
    description: "R7: how far the footprints exceed tdMemoryMiB, rounded up; 0 when within; null where TDX is disabled or the host's memory is unknown.",
    resolve: capacity((c) => c.excessMemoryMiB),
  }),
}));

builder.prismaObjectFields('Kernel', (t) => ({
  systemKvmCapMaxVcpus: t.int({
    description: 'R4: KVM_CAP_MAX_VCPUS asked without a VM (system scope, non-TD VMs): KVM_MAX_VCPUS.',
    select: { kvmMaxVcpus: true },
    resolve: (k) => systemKvmCapMaxVcpus(k),
  }),
}));

builder.prismaObjectFields('TdxModule', (t) => ({
  effectiveMaxVcpusPerTd: t.int({
    description: 'R2: MAX_VCPUS_PER_TD as KVM uses it: a module that does not report it counts as 65535 (U16_MAX), as tdx.c does.',
    select: moduleFactsSelect,
    resolve: (m) => effectiveMaxVcpusPerTd(moduleFacts(m)),
  }),
}));

const ReasonCountRef = builder.objectRef<{ reason: string; hosts: number; kvmLoadFailingHosts: number }>('TdxDisabledReasonCount').implement({
  description: 'How many hosts have TDX disabled for one reason.',
  fields: (t) => ({
    reason: t.field({ type: TdxDisabledReasonCode, description: 'The R1 reason.', resolve: (r) => r.reason as (typeof TDX_DISABLED_REASON_CODES)[number] }),
    hosts: t.exposeInt('hosts', { description: 'Hosts disabled for this reason (a host may count under several reasons).' }),
    kvmLoadFailingHosts: t.exposeInt('kvmLoadFailingHosts', {
      description: 'Of those, the hosts where this reason fails the kvm_intel load (effect KVM_LOAD_FAILS, R1 v2); the others only lose TDX.',
    }),
  }),
});

const CapCountRef = builder.objectRef<{ kvmCapMaxVcpus: number; hosts: number }>('KvmCapCount').implement({
  description: 'How many hosts share one effective KVM_CAP_MAX_VCPUS.',
  fields: (t) => ({
    kvmCapMaxVcpus: t.exposeInt('kvmCapMaxVcpus', { description: 'The effective cap (R3).' }),
    hosts: t.exposeInt('hosts', { description: 'TDX-enabled hosts with this effective cap.' }),
  }),
});

function totalsFields<T extends SummaryTotals>(
  t: PothosSchemaTypes.ObjectFieldBuilder<PothosSchemaTypes.ExtendDefaultTypes<SchemaTypesOf<typeof builder>>, T>,
) {
  return {
    hosts: t.int({ description: 'Hosts.', resolve: (s) => s.hosts }),
    tdxEnabledHosts: t.int({ description: 'Hosts where TDX is enabled (R1).', resolve: (s) => s.tdxEnabledHosts }),
    tdxDisabledByReason: t.field({ type: [ReasonCountRef], description: 'Disabled hosts per R1 reason.', resolve: (s) => s.tdxDisabledByReason }),
    kvmCapDistribution: t.field({
      type: [CapCountRef],
      description: 'How many TDX-enabled hosts have each effective KVM_CAP_MAX_VCPUS (R3), ascending.',
      resolve: (s) => s.kvmCapDistribution,
    }),
    tdSlots: t.int({ description: 'Free guest KeyIDs on TDX-enabled hosts: how many more TDs can start.', resolve: (s) => s.tdSlots }),
    freeVcpus: t.int({ description: 'Free vCPUs (schedulable - allocated) on TDX-enabled hosts.', resolve: (s) => s.freeVcpus }),
    largestPlaceableTdVcpus: t.int({
      nullable: true,
      description:
        'The largest new TD (by vCPUs, memory aside) that fits on some host (R5): max of min(cap, free vCPUs) over enabled hosts with a free KeyID; null if none.',
      resolve: (s) => s.largestPlaceableTdVcpus,
    }),
    kvmLoadFailingHosts: t.int({
      description: 'R1 v2: hosts whose kvm_intel fails to load (a mainline kernel failing the TDX bring-up): they run no VM at all.',
      resolve: (s) => s.kvmLoadFailingHosts,
    }),
    overFullHosts: t.int({
      description: 'R4b, R7: hosts whose placed TDs exceed their guest KeyIDs, schedulable vCPUs or memory for TDs.',
      resolve: (s) => s.overFullHosts,
    }),
    tdMemoryMiB: t.float({
      description:
        'R7: memory for TDs (RAM less reservations and PAMT), summed over TDX-enabled hosts of known memory. Whole MiB; a Float because fleets exceed 2^31 MiB.',
      resolve: (s) => s.tdMemoryMiB,
    }),
    allocatedMemoryMiB: t.float({
      description: 'R7: footprints of the placed TDs, summed over TDX-enabled hosts of known memory (whole MiB).',
      resolve: (s) => s.allocatedMemoryMiB,
    }),
    freeMemoryMiB: t.float({
      description: 'R7: free memory for TDs, summed over TDX-enabled hosts of known memory (whole MiB).',
      resolve: (s) => s.freeMemoryMiB,
    }),
    excessMemoryMiB: t.float({
      description: 'R7: memory by which over-full hosts exceed their memory for TDs, summed (whole MiB).',
      resolve: (s) => s.excessMemoryMiB,
    }),
    unknownMemoryHosts: t.int({
      description: 'TDX-enabled hosts whose memory is unknown: left out of the memory sums.',
      resolve: (s) => s.unknownMemoryHosts,
    }),
  };
}

const FleetGroupRef = builder.objectRef<GroupTotals>('FleetSummaryGroup').implement({
  description: 'The summary of the hosts that share a module, platform or kernel.',
  fields: (t) => ({
    key: t.string({ nullable: true, description: 'Module version, platform name or kernel name; null for hosts with no module.', resolve: (g) => g.key }),
    ...totalsFields(t),
  }),
});

const FleetSummaryRef = builder.objectRef<FleetSummary>('FleetSummary').implement({
  description: 'R1 v2, R3, R4b, R5 and R7 aggregated over the whole fleet, then by module, platform and kernel.',
  fields: (t) => ({
    ...totalsFields(t),
    byModule: t.field({ type: [FleetGroupRef], description: 'Per loaded module version (key null: hosts with no module).', resolve: (s) => s.byModule }),
    byPlatform: t.field({ type: [FleetGroupRef], description: 'Per platform.', resolve: (s) => s.byPlatform }),
    byKernel: t.field({ type: [FleetGroupRef], description: 'Per kernel.', resolve: (s) => s.byKernel }),
  }),
});

builder.queryField('fleetSummary', (t) =>
  t.field({
    type: FleetSummaryRef,
    description: 'Fleet-wide capacity: TDX enablement, KVM load failures, caps, TD slots, free vCPUs and memory (one SQL round trip).',
    resolve: (_root, _args, ctx) => fleetSummary(ctx.db),
  }),
);
