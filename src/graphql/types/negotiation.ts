// The negotiation questions of shared/domain.md: N1 module floor, N2 what-if, N3 module x
// platform matrix. Answers come from src/planning (SQL narrowing) and src/capacity/rules.ts.
import { invalidCursor, isWellFormedCursor } from '../../cursors.js';
import {
  effectiveMaxVcpusPerTd,
  fullyPopulatedPlatform,
  MAINLINE_TDX_BEHAVIOUR,
  maxLogicalCpus,
  MODULE_FLOOR_COMPONENTS,
  type HostCapacity,
  type ModuleFloorComponent,
} from '../../capacity/rules.js';
import type { Prisma } from '../../db/client.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import { moduleFacts, moduleFactsSelect } from '../../planning/host-facts.js';
import { moduleFloorOf, type ModuleFloorAnswer } from '../../planning/module-floor.js';
import type { CapacityTotals } from '../../capacity/rules.js';
import { resolveChanges } from '../../planning/scenario-changes.js';
import type { HostImpactView, ImpactView, PagedList } from '../../planning/scenario-impact.js';
import { whatIf, type TdImpact } from '../../planning/what-if.js';
import type { ObjectRef } from '@pothos/core';
import { builder, type SchemaTypesOf } from '../builder.js';
import { pageSize, type PageLimits } from '../pagination.js';
import type { Context } from '../context.js';
import { HostRef, KernelRef, ModuleRef, TdRef } from '../refs.js';
import { KvmCapLimitFactor, TdxDisabledReasonRef } from './capacity.js';
import { ModuleMetadataPolicyEnum, TdxInitFailureEnum, TdxVcpuPolicyEnum } from './kernel.js';
import { TdxFeatureEnum, TdxModuleNode } from './module.js';
import { PlatformNode } from './platform.js';

// ---- N1 ---------------------------------------------------------------------------------------

const FloorComponentNameEnum = builder.enumType('FloorComponentName', {
  description: 'The three lower bounds of N1.',
  values: {
    HOST_PRESENT_CPUS: { description: '(a) present CPUs of the hosts running the module: R1 under PRESENT_CPUS disables TDX below them.' },
    TD_VCPUS: { description: '(b) vCPUs of the TDs placed on those hosts.' },
    PLATFORM_MAX_LOGICAL_CPUS: { description: "(c) logical CPUs of the platforms the module supports: the module team's own promise." },
  } satisfies Record<(typeof MODULE_FLOOR_COMPONENTS)[number], { description: string }>,
});

interface ComponentShape extends ModuleFloorComponent {
  count: number;
}

const FloorComponentRef = builder.objectRef<ComponentShape>('FloorComponent').implement({
  description: 'One lower bound of the floor, and what binds it.',
  fields: (t) => ({
    value: t.int({ nullable: true, description: 'The bound; null when nothing contributes to it.', resolve: (c) => c.value }),
    boundBy: t.stringList({
      description: 'Hostnames, TD names or platform names reaching the bound (at most 100; see boundByCount).',
      resolve: (c) => c.boundBy,
    }),
    boundByCount: t.int({ description: 'How many reach the bound.', resolve: (c) => c.count }),
  }),
});

interface FloorShape extends ModuleFloorAnswer {
  moduleId: number;
  effectiveMaxVcpusPerTd: number;
}

const ModuleFloorRef = builder.objectRef<FloorShape>('ModuleFloor').implement({
  description: 'N1: the lowest MAX_VCPUS_PER_TD a module version may report without harm to the fleet that runs it.',
  fields: (t) => ({
    module: t.prismaField({
      type: 'TdxModule',
      description: 'The module.',
      resolve: (query, f, _args, ctx) => ctx.prisma.tdxModule.findUniqueOrThrow({ ...query, where: { id: f.moduleId } }),
    }),
    floor: t.exposeInt('floor', { description: 'The largest of the three components (at least 1).' }),
    boundBy: t.field({ type: [FloorComponentNameEnum], description: 'The components equal to the floor.', resolve: (f) => f.boundBy }),
    hostPresentCpus: t.field({
      type: FloorComponentRef,
      description: 'Component (a).',
      resolve: (f) => ({ ...f.hostPresentCpus, count: f.boundByCount.hostPresentCpus }),
    }),
    tdVcpus: t.field({ type: FloorComponentRef, description: 'Component (b).', resolve: (f) => ({ ...f.tdVcpus, count: f.boundByCount.tdVcpus }) }),
    platformMaxLogicalCpus: t.field({
      type: FloorComponentRef,
      description: 'Component (c).',
      resolve: (f) => ({ ...f.platformMaxLogicalCpus, count: f.boundByCount.platformMaxLogicalCpus }),
    }),
    effectiveMaxVcpusPerTd: t.exposeInt('effectiveMaxVcpusPerTd', { description: 'What the module reports now (R2 applied).' }),
    headroom: t.int({
      description: 'effectiveMaxVcpusPerTd - floor: how far the module could lower its value; negative when it already harms the fleet.',
      resolve: (f) => f.effectiveMaxVcpusPerTd - f.floor,
    }),
  }),
});

async function moduleFloorFor(ctx: Context, version: string): Promise<FloorShape> {
  const module = await ctx.prisma.tdxModule.findUnique({ where: { version }, select: { id: true, ...moduleFactsSelect } });
  if (!module) throw new NotFoundError('TdxModule', version);
  return { ...(await moduleFloorOf(ctx.db, module.id)), moduleId: module.id, effectiveMaxVcpusPerTd: effectiveMaxVcpusPerTd(moduleFacts(module)) };
}

builder.queryField('moduleFloor', (t) =>
  t.field({
    type: ModuleFloorRef,
    description: 'N1: the floor of a module version, each component, and what binds it (hosts running the module on a platform it supports).',
    args: { version: t.arg.string({ required: true }) },
    resolve: (_root, args, ctx) => moduleFloorFor(ctx, args.version),
  }),
);

// ---- N3 ---------------------------------------------------------------------------------------

interface PolicyOutcome {
  tdxEnabled: boolean;
  tdxDisabledReasons: HostCapacity['tdxDisabledReasons'];
  kvmCapMaxVcpus: number | null;
  limitedBy: HostCapacity['kvmCapMaxVcpusLimitedBy'];
  kvmLoads: boolean;
}

const PolicyOutcomeRef = builder.objectRef<PolicyOutcome>('PolicyOutcome').implement({
  description: 'What a fully populated host gets under one kernel policy.',
  fields: (t) => ({
    tdxEnabled: t.exposeBoolean('tdxEnabled', { description: 'R1 on the fully populated host.' }),
    tdxDisabledReasons: t.field({ type: [TdxDisabledReasonRef], description: 'Why not, when disabled.', resolve: (o) => o.tdxDisabledReasons }),
    kvmCapMaxVcpus: t.int({ nullable: true, description: 'R3: the effective cap; null when TDX is disabled.', resolve: (o) => o.kvmCapMaxVcpus }),
    kvmCapMaxVcpusLimitedBy: t.field({ type: [KvmCapLimitFactor], description: 'R3: the binding factors.', resolve: (o) => o.limitedBy }),
    kvmLoads: t.exposeBoolean('kvmLoads', { description: 'R1 v2: whether kvm_intel still loads there (kvm_intel.tdx=1).' }),
  }),
});

interface MatrixRow {
  module: Prisma.TdxModuleGetPayload<object>;
  platform: Prisma.PlatformGetPayload<object>;
  maxLogicalCpus: number;
  presentCpus: PolicyOutcome;
  moduleLimit: PolicyOutcome;
  mainline: PolicyOutcome;
}

const MatrixRowRef = builder.objectRef<MatrixRow>('ModuleMatrixCell').implement({
  description: 'N3: one module on one platform it supports, fully populated (presentCpus = maxLogicalCpus).',
  fields: (t) => ({
    module: t.field({ type: TdxModuleNode, description: 'The module.', resolve: (r) => r.module }),
    platform: t.field({ type: PlatformNode, description: 'The platform.', resolve: (r) => r.platform }),
    maxLogicalCpus: t.exposeInt('maxLogicalCpus', { description: 'The present CPUs of the fully populated host.' }),
    presentCpusPolicy: t.field({ type: PolicyOutcomeRef, description: 'Under PRESENT_CPUS (upstream).', resolve: (r) => r.presentCpus }),
    moduleLimitPolicy: t.field({ type: PolicyOutcomeRef, description: 'Under MODULE_LIMIT (v19).', resolve: (r) => r.moduleLimit }),
    mainlineKernel: t.field({
      type: PolicyOutcomeRef,
      description:
        'N3 v2: under a mainline kernel (PRESENT_CPUS, STRICT module metadata, FAIL_KVM_LOAD): its kvmLoads says whether KVM still loads on the fully populated platform.',
      resolve: (r) => r.mainline,
    }),
  }),
});

builder.queryField('moduleMatrix', (t) =>
  t.field({
    type: [MatrixRowRef],
    description:
      'N3: every module x supported platform, fully populated: TDX enabled or not and the effective cap, under each kernel policy (as the v19 series behaves: a failure only disables TDX, metadata is lenient), and whether a mainline kernel still loads KVM (N3 v2).',
    args: {
      kvmMaxVcpus: t.arg.int({ defaultValue: 4096, description: 'KVM_MAX_VCPUS of the kernel assumed (default 4096, the largest CONFIG_KVM_MAX_NR_VCPUS).' }),
    },
    resolve: async (_root, args, ctx) => {
      const kvmMaxVcpus = args.kvmMaxVcpus ?? 4096;
      if (kvmMaxVcpus < 1 || kvmMaxVcpus > 4096) throw new ValidationError([{ field: 'kvmMaxVcpus', message: `must be 1..4096, got ${kvmMaxVcpus}` }]);
      // Every module with its platforms in one query: the rows are the matrix.
      const modules = await ctx.prisma.tdxModule.findMany({ include: { platforms: { include: { platform: true } } }, orderBy: { version: 'asc' } });
      const outcome = (cell: ReturnType<typeof fullyPopulatedPlatform>): PolicyOutcome => ({
        tdxEnabled: cell.tdxEnabled,
        tdxDisabledReasons: cell.tdxDisabledReasons,
        kvmCapMaxVcpus: cell.kvmCapMaxVcpus?.value ?? null,
        limitedBy: cell.kvmCapMaxVcpus?.limitedBy ?? [],
        kvmLoads: cell.kvmLoads,
      });
      // The two policies compared as revision 1 did; the mainline column adds what shipped.
      const v19Behaviour = { tdxInitFailure: 'DISABLE_TDX', moduleMetadata: 'LENIENT' } as const;
      return modules.flatMap(({ platforms, ...m }) =>
        platforms
          .map((p) => p.platform)
          .sort((a, b) => (a.name < b.name ? -1 : 1))
          .map((p) => ({
            module: m,
            platform: p,
            maxLogicalCpus: maxLogicalCpus(p),
            presentCpus: outcome(fullyPopulatedPlatform(moduleFacts(m), p, { kvmMaxVcpus, tdxVcpuPolicy: 'PRESENT_CPUS', ...v19Behaviour })),
            moduleLimit: outcome(fullyPopulatedPlatform(moduleFacts(m), p, { kvmMaxVcpus, tdxVcpuPolicy: 'MODULE_LIMIT', ...v19Behaviour })),
            mainline: outcome(fullyPopulatedPlatform(moduleFacts(m), p, { kvmMaxVcpus, ...MAINLINE_TDX_BEHAVIOUR })),
          })),
      );
    },
  }),
);

// ---- N2 ---------------------------------------------------------------------------------------

const ModuleChangeInput = builder.inputType('WhatIfModuleChange', {
  description: "A module's MAX_VCPUS_PER_TD, features or control pages change; absent fields keep their value (give at least one).",
  fields: (t) => ({
    module: t.field({ type: ModuleRef, required: true, description: 'The module.' }),
    maxVcpusPerTd: t.int({ description: 'The new value, 1..65535; explicitly null: the module stops reporting it (R2).' }),
    features: t.field({ type: [TdxFeatureEnum], description: 'The TDX_FEATURES0 capabilities it reports (the whole list).' }),
    tdcsPages: t.int({ description: 'TDCS pages per TD, 1..1024 (R7).' }),
    tdvpsPages: t.int({ description: 'TDVPS pages per vCPU, 1..1024 (R7).' }),
  }),
});

const KernelChangeInput = builder.inputType('WhatIfKernelChange', {
  description: "A kernel's policy, KVM_MAX_VCPUS, TDX bring-up failure or module metadata behaviour changes.",
  fields: (t) => ({
    kernel: t.field({ type: KernelRef, required: true, description: 'The kernel.' }),
    tdxVcpuPolicy: t.field({ type: TdxVcpuPolicyEnum, description: 'The new policy.' }),
    kvmMaxVcpus: t.int({ description: 'The new KVM_MAX_VCPUS, 1..4096.' }),
    tdxInitFailure: t.field({ type: TdxInitFailureEnum, description: 'What a failed TDX bring-up would do (R1 v2).' }),
    moduleMetadata: t.field({ type: ModuleMetadataPolicyEnum, description: 'Whether module metadata would be mandatory (R1 v2, R2).' }),
  }),
});

const HostMoveInput = builder.inputType('WhatIfHostMove', {
  description: 'Hosts move to another module or kernel (an upgrade, a roll-back). Hosts are those listed, or all those running fromModule / fromKernel.',
  fields: (t) => ({
    hosts: t.field({ type: [HostRef], description: 'These hosts.' }),
    fromModule: t.field({ type: ModuleRef, description: 'Every host running this module.' }),
    fromKernel: t.field({ type: KernelRef, description: 'Every host running this kernel.' }),
    toModule: t.field({ type: ModuleRef, description: 'The module they load (explicit null: they unload their module).' }),
    toKernel: t.field({ type: KernelRef, description: 'The kernel they run.' }),
  }),
});

const HostChangeInput = builder.inputType('WhatIfHostChange', {
  description: "A host's present CPUs (CPUs onlined or offlined), kvm_intel.tdx or memory change; absent fields keep their value (give at least one).",
  fields: (t) => ({
    host: t.field({ type: HostRef, required: true, description: 'The host.' }),
    presentCpus: t.int({ description: 'The new num_present_cpus().' }),
    kvmIntelTdx: t.boolean({ description: 'The new kvm_intel.tdx.' }),
    memoryMiB: t.int({ description: 'The new RAM in MiB; explicitly null: unknown.' }),
    reservedMemoryMiB: t.int({ description: 'The new RAM kept for the host itself.' }),
  }),
});

const TdChangeInput = builder.inputType('WhatIfTdChange', {
  description: "A TD's memory changes (R7).",
  fields: (t) => ({
    td: t.field({ type: TdRef, required: true, description: 'The TD.' }),
    memoryMiB: t.int({ description: 'The new private memory in MiB; explicitly null: unknown. Required.' }),
  }),
});

export const WhatIfChangesInput = builder.inputType('WhatIfChanges', {
  description: 'Proposed changes; applied together.',
  fields: (t) => ({
    modules: t.field({ type: [ModuleChangeInput], defaultValue: [], description: 'Module changes.' }),
    kernels: t.field({ type: [KernelChangeInput], defaultValue: [], description: 'Kernel changes.' }),
    hostMoves: t.field({ type: [HostMoveInput], defaultValue: [], description: 'Hosts moving to another module or kernel.' }),
    hosts: t.field({ type: [HostChangeInput], defaultValue: [], description: 'Host changes.' }),
    tds: t.field({ type: [TdChangeInput], defaultValue: [], description: 'TD changes.' }),
  }),
});

// Offset-cursor pages over a result computed once per request.
const encodeOffset = (n: number): string => Buffer.from(`offset:${n}`).toString('base64url');
function decodeOffset(cursor: string | null | undefined): number {
  if (!cursor) return 0;
  const m = isWellFormedCursor(cursor) ? /^offset:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8')) : null;
  if (!m) throw invalidCursor('after');
  return Number(m[1]) + 1;
}

interface Page<T> {
  items: T[];
  offset: number;
  totalCount: number;
}

function pageObject<T extends object>(name: string, itemRef: ObjectRef<SchemaTypesOf<typeof builder>, T>, what: string) {
  const edge = builder.objectRef<{ item: T; index: number }>(`${name}Edge`).implement({
    description: `One ${what}, with its cursor.`,
    fields: (t) => ({
      cursor: t.string({ description: 'Pass as `after` for the items that follow.', resolve: (e) => encodeOffset(e.index) }),
      // Pothos cannot check a resolver against a generic item type; the edge holds exactly a T.
      node: t.field({ type: itemRef, description: `The ${what}.`, resolve: (e) => e.item as never }),
    }),
  });
  return builder.objectRef<Page<T>>(`${name}Connection`).implement({
    description: `A page of ${what}s, with the total count.`,
    fields: (t) => ({
      totalCount: t.int({ description: 'How many across all pages.', resolve: (p) => p.totalCount }),
      edges: t.field({ type: [edge], description: 'This page.', resolve: (p) => p.items.map((item, i) => ({ item, index: p.offset + i })) }),
      pageInfo: t.field({
        type: builder.pageInfoRef(),
        description: 'Cursors of this page.',
        resolve: (p) => ({
          hasNextPage: p.offset + p.items.length < p.totalCount,
          hasPreviousPage: p.offset > 0,
          startCursor: p.items.length ? encodeOffset(p.offset) : null,
          endCursor: p.items.length ? encodeOffset(p.offset + p.items.length - 1) : null,
        }),
      }),
    }),
  });
}

const HostImpactRef = builder.objectRef<HostImpactView>('WhatIfHostImpact').implement({
  description: 'A host whose TDX status or cap would change.',
  fields: (t) => ({
    hostname: t.string({ description: 'The host.', resolve: (h) => h.host.hostname }),
    tdxDisabledReasonsBefore: t.field({ type: [TdxDisabledReasonRef], description: 'R1 reasons now.', resolve: (h) => h.before.tdxDisabledReasons }),
    tdxDisabledReasonsAfter: t.field({
      type: [TdxDisabledReasonRef],
      description: 'R1 reasons after the changes, each with its effect.',
      resolve: (h) => h.after.tdxDisabledReasons,
    }),
    kvmLoadsBefore: t.boolean({ description: 'R1 v2: whether kvm_intel loads now.', resolve: (h) => h.before.kvmLoads }),
    kvmLoadsAfter: t.boolean({ description: 'R1 v2: whether kvm_intel would load after the changes.', resolve: (h) => h.after.kvmLoads }),
    freeMemoryMiBAfter: t.int({
      nullable: true,
      description: 'R7: free memory for TDs after the changes; null where TDX would be disabled or the memory is unknown.',
      resolve: (h) => h.after.freeMemoryMiB,
    }),
    kvmCapMaxVcpusBefore: t.int({ nullable: true, description: 'The effective cap now.', resolve: (h) => h.before.kvmCapMaxVcpus }),
    kvmCapMaxVcpusAfter: t.int({ nullable: true, description: 'The effective cap after the changes.', resolve: (h) => h.after.kvmCapMaxVcpus }),
  }),
});

const TdImpactRef = builder.objectRef<TdImpact>('WhatIfTdImpact').implement({
  description: 'A TD the changes would hurt.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The TD.' }),
    vcpus: t.exposeInt('vcpus', { description: 'Its vCPUs.' }),
    hostname: t.exposeString('hostname', { description: 'The host it runs on.' }),
    kvmCapMaxVcpusBefore: t.int({ nullable: true, description: "Its host's cap now.", resolve: (i) => i.capBefore }),
    kvmCapMaxVcpusAfter: t.int({ nullable: true, description: "Its host's cap after the changes (null: TDX disabled).", resolve: (i) => i.capAfter }),
  }),
});

const HostImpactPage = pageObject<HostImpactView>('WhatIfHostImpact', HostImpactRef, 'host impact');
const TdImpactPage = pageObject<TdImpact>('WhatIfTdImpact', TdImpactRef, 'TD impact');

const CapacityTotalsRef = builder.objectRef<CapacityTotals>('WhatIfCapacity').implement({
  description: 'Fleet capacity on TDX-enabled hosts.',
  fields: (t) => ({
    tdxEnabledHosts: t.exposeInt('tdxEnabledHosts', { description: 'Hosts with TDX enabled.' }),
    kvmLoadFailingHosts: t.exposeInt('kvmLoadFailingHosts', { description: 'R1 v2: hosts whose kvm_intel fails to load (over all hosts).' }),
    tdSlots: t.exposeInt('tdSlots', { description: 'Free guest KeyIDs: how many more TDs can start.' }),
    schedulableVcpus: t.exposeInt('schedulableVcpus', { description: 'presentCpus x allocationRatio, summed.' }),
    freeVcpus: t.exposeInt('freeVcpus', { description: 'Schedulable minus allocated vCPUs, summed.' }),
    tdMemoryMiB: t.exposeFloat('tdMemoryMiB', {
      description: 'R7: memory for TDs, summed over hosts of known memory (whole MiB; a Float because fleets exceed 2^31 MiB).',
    }),
    allocatedMemoryMiB: t.exposeFloat('allocatedMemoryMiB', { description: 'R7: footprints of the placed TDs, summed (whole MiB).' }),
    freeMemoryMiB: t.exposeFloat('freeMemoryMiB', { description: 'R7: free memory for TDs, summed (whole MiB).' }),
  }),
});

const WHAT_IF_PAGE: PageLimits = { defaultSize: 50, max: 500 };

function slice<T>(items: T[], args: { first?: number | null; after?: string | null }): Page<T> {
  const first = pageSize(args.first, WHAT_IF_PAGE);
  const offset = decodeOffset(args.after);
  return { items: items.slice(offset, offset + first), offset, totalCount: items.length };
}

/** A page of a list read page by page. */
async function pageOf<T>(list: PagedList<T>, args: { first?: number | null; after?: string | null }): Promise<Page<T>> {
  const first = pageSize(args.first, WHAT_IF_PAGE);
  const offset = decodeOffset(args.after);
  return { items: await list.page(first, offset), offset, totalCount: list.count };
}

export const WhatIfRef = builder.objectRef<ImpactView>('WhatIf').implement({
  description: 'N2: the impact of proposed changes. Nothing is written: the answer is computed from the same rules as the live answers.',
  fields: (t) => ({
    hostsLosingTdx: t.field({
      type: HostImpactPage,
      description: 'Hosts where TDX is enabled now and would be disabled, with the new reasons.',
      args: { first: t.arg.int(), after: t.arg.string() },
      resolve: (r, args) => slice(r.hostsLosingTdx, args),
    }),
    hostsLosingKvm: t.field({
      type: HostImpactPage,
      description: 'R1 v2: hosts whose kvm_intel loads now and would fail to load (no VM of any kind would run), with the reasons and their effects.',
      args: { first: t.arg.int(), after: t.arg.string() },
      resolve: (r, args) => slice(r.hostsLosingKvm, args),
    }),
    hostsGainingTdx: t.field({
      type: HostImpactPage,
      description: 'Hosts where TDX is disabled now and would be enabled.',
      args: { first: t.arg.int(), after: t.arg.string() },
      resolve: (r, args) => slice(r.hostsGainingTdx, args),
    }),
    hostsWithNewCap: t.field({
      type: HostImpactPage,
      description: 'Hosts where TDX stays enabled with another effective KVM_CAP_MAX_VCPUS.',
      args: { first: t.arg.int(), after: t.arg.string() },
      resolve: (r, args) => slice(r.hostsWithNewCap, args),
    }),
    tdsNoLongerFitting: t.field({
      type: TdImpactPage,
      description: 'Placed TDs that fit where they run now and would not (TDX lost, or vCPUs above the new cap).',
      args: { first: t.arg.int(), after: t.arg.string() },
      resolve: async (r, args) => pageOf(r.tdsNoLongerFitting, args),
    }),
    tdsLeftWithoutMigrationTarget: t.field({
      type: TdImpactPage,
      description: 'Migratable placed TDs that have a migration target now (R6) and would have none.',
      args: { first: t.arg.int(), after: t.arg.string() },
      resolve: async (r, args) => pageOf(r.tdsLeftWithoutMigrationTarget, args),
    }),
    capacityBefore: t.field({ type: CapacityTotalsRef, description: 'Capacity now.', resolve: (r) => r.capacityBefore }),
    capacityAfter: t.field({ type: CapacityTotalsRef, description: 'Capacity after the changes.', resolve: (r) => r.capacityAfter }),
    capacityDelta: t.field({
      type: CapacityTotalsRef,
      description: 'After minus before.',
      resolve: (r) => ({
        tdxEnabledHosts: r.capacityAfter.tdxEnabledHosts - r.capacityBefore.tdxEnabledHosts,
        kvmLoadFailingHosts: r.capacityAfter.kvmLoadFailingHosts - r.capacityBefore.kvmLoadFailingHosts,
        tdSlots: r.capacityAfter.tdSlots - r.capacityBefore.tdSlots,
        schedulableVcpus: r.capacityAfter.schedulableVcpus - r.capacityBefore.schedulableVcpus,
        freeVcpus: r.capacityAfter.freeVcpus - r.capacityBefore.freeVcpus,
        tdMemoryMiB: r.capacityAfter.tdMemoryMiB - r.capacityBefore.tdMemoryMiB,
        allocatedMemoryMiB: r.capacityAfter.allocatedMemoryMiB - r.capacityBefore.allocatedMemoryMiB,
        freeMemoryMiB: r.capacityAfter.freeMemoryMiB - r.capacityBefore.freeMemoryMiB,
      }),
    }),
  }),
});

builder.queryField('whatIf', (t) =>
  t.field({
    type: WhatIfRef,
    description: 'N2: what the proposed changes would do to the fleet, before they happen. Read-only. PLANNER or ADMIN.',
    authScopes: { planner: true },
    args: { changes: t.arg({ type: WhatIfChangesInput, required: true }) },
    resolve: async (_root, args, ctx) => whatIf(ctx.db, (await resolveChanges(ctx.prisma, args.changes)).ids),
  }),
);
