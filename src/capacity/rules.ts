// The capacity rules of shared/domain.md (R1-R6, N1, N3) as pure functions: no I/O, no Prisma,
// no GraphQL. Every answer tdplan gives about TDX enablement, KVM_CAP_MAX_VCPUS, placement and
// migration comes from here; SQL that re-expresses a rule is property-tested against it.

export type TdxVcpuPolicy = 'PRESENT_CPUS' | 'MODULE_LIMIT';

export interface MigrationVersions {
  minExportVersion: number;
  maxExportVersion: number;
  minImportVersion: number;
  maxImportVersion: number;
}

export interface ModuleFacts {
  /** MAX_VCPUS_PER_TD as reported; null when the module does not report it. */
  maxVcpusPerTd: number | null;
  /** TDX_FEATURES0 capabilities, e.g. 'TOPOLOGY_ENUM'. */
  features: readonly string[];
  /** TD-migration version ranges; null when the module declares no migration support. */
  migration: MigrationVersions | null;
}

export interface KernelFacts {
  kvmMaxVcpus: number;
  tdxVcpuPolicy: TdxVcpuPolicy;
}

export interface HostFacts {
  presentCpus: number;
  guestKeyIds: number;
  allocationRatio: number;
  module: ModuleFacts | null;
  /** Whether the loaded module supports the host's platform; meaningless without a module. */
  moduleSupportsPlatform: boolean;
  kernel: KernelFacts;
}

export interface HostUsage {
  /** TDs placed on the host (each holds one guest KeyID). */
  tdCount: number;
  /** Sum of their vCPUs. */
  allocatedVcpus: number;
}

export interface Problem<Code extends string> {
  code: Code;
  message: string;
}

/** R2: tdx.c treats a module that does not report MAX_VCPUS_PER_TD as U16_MAX. */
export const U16_MAX = 65535;

export function effectiveMaxVcpusPerTd(module: Pick<ModuleFacts, 'maxVcpusPerTd'>): number {
  return module.maxVcpusPerTd ?? U16_MAX;
}

// ---------------------------------------------------------------------------------------------
// R1: TDX enabled

export const TDX_DISABLED_REASON_CODES = [
  'NO_MODULE',
  'PLATFORM_UNSUPPORTED',
  'NO_TOPOLOGY_ENUM',
  'NO_GUEST_KEYIDS',
  'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS',
] as const;
export type TdxDisabledReasonCode = (typeof TDX_DISABLED_REASON_CODES)[number];
export type TdxDisabledReason = Problem<TdxDisabledReasonCode>;

/**
 * R1: every failing condition, not just the first. Without a module, the module's own
 * conditions cannot be evaluated: only NO_MODULE (and NO_GUEST_KEYIDS, which does not depend on it).
 */
export function tdxDisabledReasons(host: HostFacts): TdxDisabledReason[] {
  const reasons: TdxDisabledReason[] = [];
  const { module } = host;
  if (!module) reasons.push({ code: 'NO_MODULE', message: 'no TDX module is loaded' });
  if (module && !host.moduleSupportsPlatform) {
    reasons.push({ code: 'PLATFORM_UNSUPPORTED', message: 'the TDX module does not support the host platform' });
  }
  if (module && !module.features.includes('TOPOLOGY_ENUM')) {
    reasons.push({ code: 'NO_TOPOLOGY_ENUM', message: 'the TDX module does not report TOPOLOGY_ENUM in TDX_FEATURES0' });
  }
  if (host.guestKeyIds < 1) {
    reasons.push({ code: 'NO_GUEST_KEYIDS', message: 'no TDX private KeyIDs available for guests' });
  }
  if (module && host.kernel.tdxVcpuPolicy === 'PRESENT_CPUS') {
    const maxVcpusPerTd = effectiveMaxVcpusPerTd(module);
    // tdx.c: "Disable TDX: MAX_VCPU_PER_TD (%u) smaller than number of logical CPUs (%u)"
    if (maxVcpusPerTd < host.presentCpus) {
      reasons.push({
        code: 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS',
        message: `MAX_VCPUS_PER_TD ${maxVcpusPerTd} < ${host.presentCpus} present CPUs`,
      });
    }
  }
  return reasons;
}

export function tdxEnabled(host: HostFacts): boolean {
  return tdxDisabledReasons(host).length === 0;
}

// ---------------------------------------------------------------------------------------------
// R3 and R4: KVM_CAP_MAX_VCPUS

export const KVM_CAP_LIMIT_FACTORS = ['KVM_MAX_VCPUS', 'PRESENT_CPUS', 'MODULE_MAX_VCPUS_PER_TD'] as const;
export type KvmCapLimitFactor = (typeof KVM_CAP_LIMIT_FACTORS)[number];

export interface KvmCap {
  value: number;
  /** Every factor equal to the value: ties name several. */
  limitedBy: KvmCapLimitFactor[];
}

/** The cap a TD would get if TDX were enabled; R3 without the R1 gate (N3 and what-if use it). */
export function policyCap(kernel: KernelFacts, presentCpus: number, module: Pick<ModuleFacts, 'maxVcpusPerTd'>): KvmCap {
  const candidates: [KvmCapLimitFactor, number][] = [['KVM_MAX_VCPUS', kernel.kvmMaxVcpus]];
  // tdx_vm_init (upstream): kvm->max_vcpus = min_t(int, kvm->max_vcpus, num_present_cpus())
  if (kernel.tdxVcpuPolicy === 'PRESENT_CPUS') candidates.push(['PRESENT_CPUS', presentCpus]);
  // v19 of the series: the module's limit instead
  else candidates.push(['MODULE_MAX_VCPUS_PER_TD', effectiveMaxVcpusPerTd(module)]);
  const value = Math.min(...candidates.map(([, v]) => v));
  return { value, limitedBy: candidates.filter(([, v]) => v === value).map(([factor]) => factor) };
}

/** R3: the effective KVM_CAP_MAX_VCPUS of a TD on the host; null when TDX is disabled (R1). */
export function kvmCapMaxVcpus(host: HostFacts): KvmCap | null {
  if (!host.module || !tdxEnabled(host)) return null;
  return policyCap(host.kernel, host.presentCpus, host.module);
}

/** R4: KVM_CAP_MAX_VCPUS without a VM (system scope, and non-TD VMs): KVM_MAX_VCPUS. */
export function systemKvmCapMaxVcpus(kernel: KernelFacts): number {
  return kernel.kvmMaxVcpus;
}

// ---------------------------------------------------------------------------------------------
// Host capacity: everything the Host type shows

export interface HostCapacity {
  tdxEnabled: boolean;
  tdxDisabledReasons: TdxDisabledReason[];
  kvmCapMaxVcpus: number | null;
  kvmCapMaxVcpusLimitedBy: KvmCapLimitFactor[];
  usedKeyIds: number;
  freeKeyIds: number;
  allocatedVcpus: number;
  schedulableVcpus: number;
  freeVcpus: number;
}

/** presentCpus x allocationRatio, rounded down: a fraction of a vCPU cannot be scheduled. */
export function schedulableVcpus(host: Pick<HostFacts, 'presentCpus' | 'allocationRatio'>): number {
  // The epsilon keeps ratios such as 1.1 (stored in binary) from losing a whole vCPU: 10 x 1.1 = 11.000000000000002 but 3 x 1.1 = 3.3000000000000003 -> 3.
  return Math.floor(host.presentCpus * host.allocationRatio + 1e-9);
}

export function hostCapacity(host: HostFacts, usage: HostUsage): HostCapacity {
  const reasons = tdxDisabledReasons(host);
  const cap = reasons.length === 0 ? kvmCapMaxVcpus(host) : null;
  const schedulable = schedulableVcpus(host);
  return {
    tdxEnabled: reasons.length === 0,
    tdxDisabledReasons: reasons,
    kvmCapMaxVcpus: cap?.value ?? null,
    kvmCapMaxVcpusLimitedBy: cap?.limitedBy ?? [],
    usedKeyIds: usage.tdCount,
    freeKeyIds: Math.max(0, host.guestKeyIds - usage.tdCount),
    allocatedVcpus: usage.allocatedVcpus,
    schedulableVcpus: schedulable,
    freeVcpus: Math.max(0, schedulable - usage.allocatedVcpus),
  };
}

// ---------------------------------------------------------------------------------------------
// R5: a TD fits on a host

export const FIT_BLOCKER_CODES = ['TDX_DISABLED', 'VCPUS_EXCEED_KVM_CAP', 'NO_FREE_KEYID', 'INSUFFICIENT_VCPUS'] as const;
export type FitBlockerCode = (typeof FIT_BLOCKER_CODES)[number];

export const MIGRATION_BLOCKER_CODES = [
  'NOT_MIGRATABLE',
  'SAME_HOST',
  ...FIT_BLOCKER_CODES,
  'MIGRATION_UNSUPPORTED',
  'MIGRATION_VERSION_MISMATCH',
] as const;
export type MigrationBlockerCode = (typeof MIGRATION_BLOCKER_CODES)[number];
export type Blocker = Problem<MigrationBlockerCode>;

/**
 * R5 for a TD of `vcpus` that is not yet on the host. Where TDX is disabled the only blocker is
 * TDX_DISABLED: the other conditions have no meaning without a cap.
 */
export function tdFitBlockers(host: HostFacts, usage: HostUsage, vcpus: number): Problem<FitBlockerCode>[] {
  const reasons = tdxDisabledReasons(host);
  if (reasons.length > 0) {
    return [{ code: 'TDX_DISABLED', message: `TDX is disabled: ${reasons.map((r) => r.message).join('; ')}` }];
  }
  const blockers: Problem<FitBlockerCode>[] = [];
  const cap = kvmCapMaxVcpus(host);
  if (cap && vcpus > cap.value) {
    blockers.push({ code: 'VCPUS_EXCEED_KVM_CAP', message: `${vcpus} vCPUs > KVM_CAP_MAX_VCPUS ${cap.value}` });
  }
  if (usage.tdCount >= host.guestKeyIds) {
    blockers.push({ code: 'NO_FREE_KEYID', message: `all ${host.guestKeyIds} guest KeyIDs are in use by ${usage.tdCount} TDs` });
  }
  const schedulable = schedulableVcpus(host);
  if (usage.allocatedVcpus + vcpus > schedulable) {
    blockers.push({
      code: 'INSUFFICIENT_VCPUS',
      message: `${usage.allocatedVcpus} allocated + ${vcpus} vCPUs > ${schedulable} schedulable vCPUs`,
    });
  }
  return blockers;
}

/** R5, last sentence: a placed TD fits where it runs (its own vCPUs are not counted twice). */
export function fitsWhereItRuns(host: HostFacts, vcpus: number): boolean {
  const cap = kvmCapMaxVcpus(host);
  return cap !== null && vcpus <= cap.value;
}

// ---------------------------------------------------------------------------------------------
// R6: migration

export interface MigrationCase {
  td: { vcpus: number; migratable: boolean; hostId: number | null };
  /** The source host's module, whose export range matters; null when it has none. */
  sourceModule: ModuleFacts | null;
  targetHostId: number;
  targetHost: HostFacts;
  targetUsage: HostUsage;
}

function rangesOverlap(aMin: number, aMax: number, bMin: number, bMax: number): boolean {
  return aMin <= bMax && bMin <= aMax;
}

/** R6: every reason the TD cannot move to the target (empty: compatible). */
export function migrationBlockers(c: MigrationCase): Blocker[] {
  const blockers: Blocker[] = [];
  if (!c.td.migratable) blockers.push({ code: 'NOT_MIGRATABLE', message: 'the TD is not migratable' });
  if (c.td.hostId === c.targetHostId) blockers.push({ code: 'SAME_HOST', message: 'the target is the host the TD runs on' });
  blockers.push(...tdFitBlockers(c.targetHost, c.targetUsage, c.td.vcpus));
  const source = c.sourceModule?.migration ?? null;
  const target = c.targetHost.module?.migration ?? null;
  const unsupported: string[] = [];
  if (!source) unsupported.push(c.sourceModule ? "the source host's TDX module declares no migration support" : 'the source host has no TDX module');
  if (!target) unsupported.push(c.targetHost.module ? "the target host's TDX module declares no migration support" : 'the target host has no TDX module');
  if (unsupported.length > 0) {
    blockers.push({ code: 'MIGRATION_UNSUPPORTED', message: unsupported.join('; ') });
  } else if (source && target && !rangesOverlap(source.minExportVersion, source.maxExportVersion, target.minImportVersion, target.maxImportVersion)) {
    blockers.push({
      code: 'MIGRATION_VERSION_MISMATCH',
      message: `source exports versions ${source.minExportVersion}-${source.maxExportVersion}, target imports ${target.minImportVersion}-${target.maxImportVersion}`,
    });
  }
  return blockers;
}

// ---------------------------------------------------------------------------------------------
// N1: module floor

export function maxLogicalCpus(platform: { sockets: number; coresPerSocket: number; threadsPerCore: number }): number {
  return platform.sockets * platform.coresPerSocket * platform.threadsPerCore;
}

export interface FloorComponent<Who> {
  /** The component's value; null when it has no members. */
  value: number | null;
  /** Every member reaching the value. */
  boundBy: Who[];
}

export interface ModuleFloorInput {
  /** Hosts running the module on a platform it supports. */
  hosts: readonly { hostname: string; presentCpus: number }[];
  /** TDs placed on those hosts. */
  tds: readonly { name: string; vcpus: number }[];
  /** Platforms the module supports. */
  platforms: readonly { name: string; maxLogicalCpus: number }[];
}

export type FloorComponentName = 'HOST_PRESENT_CPUS' | 'TD_VCPUS' | 'PLATFORM_MAX_LOGICAL_CPUS';

export interface ModuleFloor {
  /** The lowest MAX_VCPUS_PER_TD that harms nothing: at least 1 (the value is a positive u16). */
  floor: number;
  hostPresentCpus: FloorComponent<string>;
  tdVcpus: FloorComponent<string>;
  platformMaxLogicalCpus: FloorComponent<string>;
  /** The components equal to the floor (none when the module runs nothing and supports nothing). */
  boundBy: FloorComponentName[];
}

function component<T>(items: readonly T[], value: (item: T) => number, name: (item: T) => string): FloorComponent<string> {
  if (items.length === 0) return { value: null, boundBy: [] };
  const max = Math.max(...items.map(value));
  return { value: max, boundBy: items.filter((i) => value(i) === max).map(name) };
}

/** N1: (a) hosts' present CPUs (R1 under PRESENT_CPUS), (b) placed TDs' vCPUs, (c) platforms' logical CPUs. */
export function moduleFloor(input: ModuleFloorInput): ModuleFloor {
  const hostPresentCpus = component(input.hosts, (h) => h.presentCpus, (h) => h.hostname);
  const tdVcpus = component(input.tds, (t) => t.vcpus, (t) => t.name);
  const platformMaxLogicalCpus = component(input.platforms, (p) => p.maxLogicalCpus, (p) => p.name);
  const named: [FloorComponentName, FloorComponent<string>][] = [
    ['HOST_PRESENT_CPUS', hostPresentCpus],
    ['TD_VCPUS', tdVcpus],
    ['PLATFORM_MAX_LOGICAL_CPUS', platformMaxLogicalCpus],
  ];
  const values = named.map(([, c]) => c.value).filter((v): v is number => v !== null);
  const max = values.length ? Math.max(...values) : null;
  return {
    floor: Math.max(1, max ?? 1),
    hostPresentCpus,
    tdVcpus,
    platformMaxLogicalCpus,
    boundBy: max === null ? [] : named.filter(([, c]) => c.value === max).map(([n]) => n),
  };
}

// ---------------------------------------------------------------------------------------------
// N3: module x platform matrix

export interface MatrixCell {
  tdxEnabled: boolean;
  tdxDisabledReasons: TdxDisabledReason[];
  kvmCapMaxVcpus: KvmCap | null;
}

/** N3: a fully populated platform (presentCpus = maxLogicalCpus) with the module loaded and KeyIDs configured. */
export function fullyPopulatedPlatform(module: ModuleFacts, platform: { sockets: number; coresPerSocket: number; threadsPerCore: number }, kernel: KernelFacts): MatrixCell {
  const host: HostFacts = {
    presentCpus: maxLogicalCpus(platform),
    guestKeyIds: 1,
    allocationRatio: 1,
    module,
    moduleSupportsPlatform: true,
    kernel,
  };
  const reasons = tdxDisabledReasons(host);
  return { tdxEnabled: reasons.length === 0, tdxDisabledReasons: reasons, kvmCapMaxVcpus: kvmCapMaxVcpus(host) };
}
