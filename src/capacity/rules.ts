// The capacity rules of shared/domain.md (R1-R7, N1, N3; revision 2) as pure functions: no I/O, no Prisma,
// no GraphQL. Every answer tdplan gives about TDX enablement, KVM_CAP_MAX_VCPUS, placement and
// migration comes from here, for the live fleet and for what-if simulations alike: both build the
// plain fact objects below. SQL that re-expresses a rule must be property-tested against it.
//
// Kernel facts are quoted from arch/x86/kvm/vmx/tdx.c and arch/x86/kvm/x86.c (Linux 6.16+).

export type TdxVcpuPolicy = 'PRESENT_CPUS' | 'MODULE_LIMIT';

/** v2: what a failed TDX bring-up does: mainline fails kvm_intel's load, the v19 series only disables TDX. */
export const TDX_INIT_FAILURES = ['FAIL_KVM_LOAD', 'DISABLE_TDX'] as const;
export type TdxInitFailure = (typeof TDX_INIT_FAILURES)[number];

/** v2: whether MAX_VCPUS_PER_TD and NO_RBP_MOD are mandatory (mainline) or not (v19 series). */
export const MODULE_METADATA_POLICIES = ['STRICT', 'LENIENT'] as const;
export type ModuleMetadataPolicy = (typeof MODULE_METADATA_POLICIES)[number];

/** v2, N3: the kernel that shipped (Linux 6.16 and later). */
export const MAINLINE_TDX_BEHAVIOUR = { tdxVcpuPolicy: 'PRESENT_CPUS', tdxInitFailure: 'FAIL_KVM_LOAD', moduleMetadata: 'STRICT' } as const;

/** A module's TD-migration protocol version ranges (MIN/MAX_EXPORT_VERSION, MIN/MAX_IMPORT_VERSION). */
export interface MigrationVersions {
  minExportVersion: number;
  maxExportVersion: number;
  minImportVersion: number;
  maxImportVersion: number;
}

export interface ModuleFacts {
  /** MAX_VCPUS_PER_TD as reported; null when the module does not report it (R2). */
  maxVcpusPerTd: number | null;
  /** TDX_FEATURES0 capabilities, e.g. 'TOPOLOGY_ENUM', 'NO_RBP_MOD'. */
  features: readonly string[];
  /** TD-migration version ranges; null when the module declares no migration support. */
  migration: MigrationVersions | null;
  /** v2, R7: 4 KiB TDCS pages per TD (besides its TDR page), from tdcs_base_size. */
  tdcsPages: number;
  /** v2, R7: 4 KiB TDVPS pages (TDVPR + TDCX) per vCPU, from tdvps_base_size. */
  tdvpsPages: number;
}

export interface KernelFacts {
  /** KVM_MAX_VCPUS of the build: 1024 by default on x86, up to 4096 with CONFIG_KVM_MAX_NR_VCPUS. */
  kvmMaxVcpus: number;
  tdxVcpuPolicy: TdxVcpuPolicy;
  tdxInitFailure: TdxInitFailure;
  moduleMetadata: ModuleMetadataPolicy;
}

export interface HostFacts {
  /** num_present_cpus() */
  presentCpus: number;
  /** TDX private KeyIDs configured for guests: one per running TD. */
  guestKeyIds: number;
  /** vCPU allocation ratio (planning policy, 1.0 by default). */
  allocationRatio: number;
  module: ModuleFacts | null;
  /** Whether the loaded module supports the host's platform; meaningless without a module. */
  moduleSupportsPlatform: boolean;
  kernel: KernelFacts;
  /** v2: the kvm_intel.tdx parameter. */
  kvmIntelTdx: boolean;
  /** v2, R7: RAM in MiB; null when unknown. */
  memoryMiB: number | null;
  /** v2, R7: RAM kept for the host itself (planning policy). */
  reservedMemoryMiB: number;
}

/**
 * The facts R1 (TDX status and its reasons) and R3 (the cap) read, and no others: the TDX status
 * functions below take only these, so two hosts that agree on them have the same status, whatever
 * their memory, ratio or usage. What-if evaluates each such combination once (src/planning/what-if.ts).
 */
export type TdxStatusFacts = Pick<HostFacts, 'presentCpus' | 'guestKeyIds' | 'module' | 'moduleSupportsPlatform' | 'kernel' | 'kvmIntelTdx'>;

export interface HostUsage {
  /** TDs placed on the host (each holds one guest KeyID). */
  tdCount: number;
  /** Sum of their vCPUs. */
  allocatedVcpus: number;
  /** R7: of those, the TDs whose memory is known (a TD of unknown memory counts 0) ... */
  knownMemoryTdCount: number;
  /** ... the sum of their vCPUs ... */
  knownMemoryTdVcpus: number;
  /** ... and the sum of their memory in MiB. */
  knownMemoryTdMiB: number;
}

/** A TD as the fit rules see it. */
export interface TdSize {
  vcpus: number;
  /** R7: private memory in MiB; null when unknown (memory is then not checked). */
  memoryMiB: number | null;
}

/** A failing condition: a stable code for machines, a message with the numbers for people. */
export interface Problem<Code extends string> {
  code: Code;
  message: string;
}

// ---------------------------------------------------------------------------------------------
// R2: old modules

/** MAX_VCPUS_PER_TD is a u16. */
export const U16_MAX = 65535;

/**
 * R2: the v19 series treats a module that does not report MAX_VCPUS_PER_TD as U16_MAX, i.e. no
 * limit (LENIENT kernels; a STRICT kernel cannot initialise such a module, R1 v2).
 */
export function effectiveMaxVcpusPerTd(module: Pick<ModuleFacts, 'maxVcpusPerTd'>): number {
  return module.maxVcpusPerTd ?? U16_MAX;
}

// ---------------------------------------------------------------------------------------------
// R1 v2: TDX status and what a failure costs

/** R1 v2: in the order the kernel meets them: stage 0 (quietly off), then stage 1 (module initialisation and KVM's checks). */
export const TDX_DISABLED_REASON_CODES = [
  'TDX_NOT_REQUESTED',
  'NO_MODULE',
  'PLATFORM_UNSUPPORTED',
  'NO_GUEST_KEYIDS',
  'NO_RBP_MOD',
  'NO_MAX_VCPUS_METADATA',
  'NO_TOPOLOGY_ENUM',
  'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS',
] as const;
export type TdxDisabledReasonCode = (typeof TDX_DISABLED_REASON_CODES)[number];

/** R1 v2: the conditions at which tdx_bringup() returns 0 and KVM loads without TDX. */
export const STAGE_0_REASON_CODES = [
  'TDX_NOT_REQUESTED',
  'NO_MODULE',
  'PLATFORM_UNSUPPORTED',
  'NO_GUEST_KEYIDS',
] as const satisfies readonly TdxDisabledReasonCode[];

/** R1 v2: what a failing condition costs the host. */
export const TDX_DISABLED_EFFECTS = ['TDX_DISABLED', 'KVM_LOAD_FAILS'] as const;
export type TdxDisabledEffect = (typeof TDX_DISABLED_EFFECTS)[number];

export interface TdxDisabledReason extends Problem<TdxDisabledReasonCode> {
  effect: TdxDisabledEffect;
}

/** The stage 0 conditions (R1 v2), each with its message; empty when the kernel reaches stage 1. */
function stage0Failures(host: TdxStatusFacts): Problem<TdxDisabledReasonCode>[] {
  const failures: Problem<TdxDisabledReasonCode>[] = [];
  // vt_init() calls tdx_bringup() only with kvm_intel.tdx=1.
  if (!host.kvmIntelTdx) failures.push({ code: 'TDX_NOT_REQUESTED', message: 'kvm_intel.tdx=0: TDX is not requested' });
  // The first SEAMCALL gives -ENODEV, which tdx_bringup() turns into 0.
  if (host.module === null) failures.push({ code: 'NO_MODULE', message: 'no TDX module is loaded' });
  // Planning assumption: a module cannot be loaded on a platform it does not support (like no module).
  else if (!host.moduleSupportsPlatform) {
    failures.push({ code: 'PLATFORM_UNSUPPORTED', message: "the TDX module does not support the host's platform" });
  }
  // tdx.c: "no TDX private KeyIDs available": a TD cannot be created without its own KeyID.
  if (host.guestKeyIds < 1) {
    failures.push({ code: 'NO_GUEST_KEYIDS', message: `${host.guestKeyIds} guest KeyIDs configured: no TDX private KeyIDs available` });
  }
  return failures;
}

/** The stage 1 conditions (R1 v2) of a present module: module initialisation, then KVM's checks. */
function stage1Failures(module: ModuleFacts, host: TdxStatusFacts): Problem<TdxDisabledReasonCode>[] {
  const failures: Problem<TdxDisabledReasonCode>[] = [];
  const strict = host.kernel.moduleMetadata === 'STRICT';
  // check_features(): "frame pointer (RBP) clobber bug present, upgrade TDX module".
  if (strict && !module.features.includes('NO_RBP_MOD')) {
    failures.push({
      code: 'NO_RBP_MOD',
      message: 'the TDX module does not report NO_RBP_MOD in TDX_FEATURES0: frame pointer (RBP) clobber bug present, upgrade TDX module',
    });
  }
  // init_tdx_module() reads MAX_VCPUS_PER_TD (field 0x9900000100000008) as mandatory global metadata.
  if (strict && module.maxVcpusPerTd === null) {
    failures.push({ code: 'NO_MAX_VCPUS_METADATA', message: 'the TDX module does not report MAX_VCPUS_PER_TD, mandatory metadata on a STRICT kernel' });
  }
  // tdx.c refuses modules that cannot enumerate the TD's topology.
  if (!module.features.includes('TOPOLOGY_ENUM')) {
    failures.push({ code: 'NO_TOPOLOGY_ENUM', message: 'the TDX module does not report TOPOLOGY_ENUM in TDX_FEATURES0' });
  }
  // Only the upstream policy caps a TD at the present CPUs, so only it must refuse a module whose
  // limit is lower: tdx.c "Disable TDX: MAX_VCPU_PER_TD (%u) smaller than number of logical CPUs (%u)".
  // The limit is known when reported, or as U16_MAX under LENIENT (R2).
  const limit = strict ? module.maxVcpusPerTd : effectiveMaxVcpusPerTd(module);
  if (host.kernel.tdxVcpuPolicy === 'PRESENT_CPUS' && limit !== null && limit < host.presentCpus) {
    failures.push({ code: 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS', message: `MAX_VCPUS_PER_TD ${limit} < ${host.presentCpus} present CPUs` });
  }
  return failures;
}

/**
 * R1 v2: every failing condition of both stages, in the order of TDX_DISABLED_REASON_CODES, with
 * its effect. Stage 0 conditions only turn TDX off. Stage 1 conditions (evaluated whenever a module
 * is loaded) fail kvm_intel's load on a FAIL_KVM_LOAD kernel, unless a stage 0 condition already
 * stopped the bring-up quietly before stage 1.
 */
export function tdxDisabledReasons(host: TdxStatusFacts): TdxDisabledReason[] {
  const stage0 = stage0Failures(host);
  const stage1 = host.module === null ? [] : stage1Failures(host.module, host);
  const stage1Effect: TdxDisabledEffect = host.kernel.tdxInitFailure === 'FAIL_KVM_LOAD' && stage0.length === 0 ? 'KVM_LOAD_FAILS' : 'TDX_DISABLED';
  return [...stage0.map((p) => ({ ...p, effect: 'TDX_DISABLED' as const })), ...stage1.map((p) => ({ ...p, effect: stage1Effect }))];
}

/** R1 v2: kvm_intel loads (and so any VM runs) iff no condition has effect KVM_LOAD_FAILS. */
export function kvmLoads(host: TdxStatusFacts): boolean {
  return kvmLoadsDespite(tdxDisabledReasons(host));
}

function kvmLoadsDespite(reasons: readonly TdxDisabledReason[]): boolean {
  return !reasons.some((r) => r.effect === 'KVM_LOAD_FAILS');
}

/** R1: TDX is enabled iff no condition fails. */
export function tdxEnabled(host: TdxStatusFacts): boolean {
  return tdxDisabledReasons(host).length === 0;
}

// ---------------------------------------------------------------------------------------------
// R3 and R4: KVM_CAP_MAX_VCPUS

export const KVM_CAP_LIMIT_FACTORS = ['KVM_MAX_VCPUS', 'PRESENT_CPUS', 'MODULE_MAX_VCPUS_PER_TD'] as const;
export type KvmCapLimitFactor = (typeof KVM_CAP_LIMIT_FACTORS)[number];

export interface KvmCap {
  value: number;
  /** Every candidate factor equal to the value: ties name several; never empty. */
  limitedBy: KvmCapLimitFactor[];
}

/**
 * R3 without the R1 gate: the cap a TD would get under the kernel's policy if TDX were enabled.
 * What-if and N3 use it to compare policies on hosts where one of them disables TDX.
 */
export function policyCap(kernel: KernelFacts, presentCpus: number, module: Pick<ModuleFacts, 'maxVcpusPerTd'>): KvmCap {
  const candidates: [KvmCapLimitFactor, number][] = [['KVM_MAX_VCPUS', kernel.kvmMaxVcpus]];
  if (kernel.tdxVcpuPolicy === 'PRESENT_CPUS') {
    // tdx_vm_init: "kvm->max_vcpus = min_t(int, kvm->max_vcpus, num_present_cpus())"; x86.c then
    // answers KVM_CAP_MAX_VCPUS on the VM fd with kvm->max_vcpus.
    candidates.push(['PRESENT_CPUS', presentCpus]);
  } else {
    // v19 of the series: the module's limit bounds the TD instead of the host's CPUs.
    candidates.push(['MODULE_MAX_VCPUS_PER_TD', effectiveMaxVcpusPerTd(module)]);
  }
  const value = Math.min(...candidates.map(([, v]) => v));
  return { value, limitedBy: candidates.filter(([, v]) => v === value).map(([factor]) => factor) };
}

function capWhenEnabled(host: TdxStatusFacts, reasons: readonly TdxDisabledReason[]): KvmCap | null {
  if (host.module === null || reasons.length > 0) return null;
  return policyCap(host.kernel, host.presentCpus, host.module);
}

/** R3: the effective KVM_CAP_MAX_VCPUS of a TD on the host; null when TDX is disabled (R1). */
export function kvmCapMaxVcpus(host: TdxStatusFacts): KvmCap | null {
  return capWhenEnabled(host, tdxDisabledReasons(host));
}

/** R4: KVM_CAP_MAX_VCPUS asked without a VM (system scope, and so for non-TD VMs): KVM_MAX_VCPUS. */
export function systemKvmCapMaxVcpus(kernel: Pick<KernelFacts, 'kvmMaxVcpus'>): number {
  return kernel.kvmMaxVcpus;
}

// ---------------------------------------------------------------------------------------------
// Host capacity: everything the Host type shows

export interface HostCapacity {
  tdxEnabled: boolean;
  tdxDisabledReasons: TdxDisabledReason[];
  kvmCapMaxVcpus: number | null;
  /** Empty when TDX is disabled. */
  kvmCapMaxVcpusLimitedBy: KvmCapLimitFactor[];
  usedKeyIds: number;
  freeKeyIds: number;
  allocatedVcpus: number;
  schedulableVcpus: number;
  freeVcpus: number;
  /** R1 v2: false when kvm_intel fails to load: no VM of any kind runs on the host. */
  kvmLoads: boolean;
  /** R4b: how far placed TDs exceed the host (0 when within). */
  excessKeyIds: number;
  excessVcpus: number;
  /** R7, in MiB; each null where TDX is disabled or the host's memory is unknown. */
  pamtMiB: number | null;
  tdMemoryMiB: number | null;
  allocatedMemoryMiB: number | null;
  freeMemoryMiB: number | null;
  excessMemoryMiB: number | null;
}

// A ratio such as 1.15 is not exact in binary: 100 * 1.15 = 114.99999999999999. Rounding down
// must not lose that whole vCPU, so products within this tolerance below an integer count as it.
// Ratios are entered with a few decimals, so no true product lies that close below an integer.
const SCHEDULABLE_TOLERANCE = 1e-9;

/**
 * Planning policy: presentCpus x allocationRatio, rounded DOWN (a fraction of a vCPU cannot be
 * scheduled, and rounding up would promise capacity the host does not have).
 */
export function schedulableVcpus(host: Pick<HostFacts, 'presentCpus' | 'allocationRatio'>): number {
  return Math.floor(host.presentCpus * host.allocationRatio + SCHEDULABLE_TOLERANCE);
}

// ---------------------------------------------------------------------------------------------
// R7: memory

/** R7: PAMT, a 16-byte entry per 4 KiB page: tdx.c "~1/256th of system RAM". */
export function pamtMiB(memoryMiB: number): number {
  return Math.ceil(memoryMiB / 256);
}

/** R7: RAM usable for TDs: memoryMiB - reservedMemoryMiB - pamtMiB. */
export function tdMemoryMiB(host: { memoryMiB: number; reservedMemoryMiB: number }): number {
  return host.memoryMiB - host.reservedMemoryMiB - pamtMiB(host.memoryMiB);
}

type ControlPages = Pick<ModuleFacts, 'tdcsPages' | 'tdvpsPages'>;

/**
 * R7: a TD's footprint in KiB: its memory, its secure EPT and KVM's mirror of it (8 bytes per 4 KiB
 * page each: private memory is mapped at 4 KiB only), one TDR page plus tdcsPages, and tdvpsPages per vCPU.
 */
export function tdFootprintKiB(module: ControlPages, td: { vcpus: number; memoryMiB: number }): number {
  return 1028 * td.memoryMiB + 4 * (1 + module.tdcsPages + td.vcpus * module.tdvpsPages);
}

/** R7: the sum of the footprints of the TDs of known memory on a host, from its usage (the same sum, regrouped). */
export function allocatedMemoryKiB(module: ControlPages, usage: HostUsage): number {
  return 1028 * usage.knownMemoryTdMiB + 4 * (usage.knownMemoryTdCount * (1 + module.tdcsPages) + usage.knownMemoryTdVcpus * module.tdvpsPages);
}

export interface HostMemory {
  pamtMiB: number;
  tdMemoryMiB: number;
  allocatedMemoryMiB: number;
  freeMemoryMiB: number;
  excessMemoryMiB: number;
}

/** R7: the host's memory figures; null where TDX is disabled or its memory is unknown. */
function hostMemory(host: HostFacts, usage: HostUsage, tdxOn: boolean): HostMemory | null {
  if (!tdxOn || host.module === null || host.memoryMiB === null) return null;
  const forTds = tdMemoryMiB({ memoryMiB: host.memoryMiB, reservedMemoryMiB: host.reservedMemoryMiB });
  const forTdsKiB = 1024 * forTds;
  const usedKiB = allocatedMemoryKiB(host.module, usage);
  return {
    pamtMiB: pamtMiB(host.memoryMiB),
    tdMemoryMiB: forTds,
    allocatedMemoryMiB: Math.ceil(usedKiB / 1024),
    freeMemoryMiB: Math.max(0, Math.floor((forTdsKiB - usedKiB) / 1024)),
    excessMemoryMiB: Math.ceil(Math.max(0, usedKiB - forTdsKiB) / 1024),
  };
}

/** R1 and R3 of a host: its reasons (none: TDX enabled) and its cap. Depends on TdxStatusFacts only. */
export interface TdxStatus {
  reasons: TdxDisabledReason[];
  cap: KvmCap | null;
}

export function tdxStatus(host: TdxStatusFacts): TdxStatus {
  const reasons = tdxDisabledReasons(host);
  return { reasons, cap: capWhenEnabled(host, reasons) };
}

export function hostCapacity(host: HostFacts, usage: HostUsage): HostCapacity {
  return hostCapacityWithStatus(tdxStatus(host), host, usage);
}

/**
 * hostCapacity() with the host's tdxStatus() already known (what-if shares one status among the
 * hosts of equal TdxStatusFacts). The status's arrays are shared, not copied: never mutate them.
 */
export function hostCapacityWithStatus(status: TdxStatus, host: HostFacts, usage: HostUsage): HostCapacity {
  const { reasons, cap } = status;
  const schedulable = schedulableVcpus(host);
  const memory = hostMemory(host, usage, reasons.length === 0);
  return {
    tdxEnabled: reasons.length === 0,
    tdxDisabledReasons: reasons,
    kvmCapMaxVcpus: cap?.value ?? null,
    kvmCapMaxVcpusLimitedBy: cap?.limitedBy ?? [],
    usedKeyIds: usage.tdCount,
    // Never negative: a host can hold more TDs than KeyIDs after its KeyIDs are reconfigured.
    freeKeyIds: Math.max(0, host.guestKeyIds - usage.tdCount),
    allocatedVcpus: usage.allocatedVcpus,
    schedulableVcpus: schedulable,
    freeVcpus: Math.max(0, schedulable - usage.allocatedVcpus),
    kvmLoads: kvmLoadsDespite(reasons),
    // R4b: an import of facts as they are, or KeyIDs reconfigured, can leave a host over-full.
    excessKeyIds: Math.max(0, usage.tdCount - host.guestKeyIds),
    excessVcpus: Math.max(0, usage.allocatedVcpus - schedulable),
    pamtMiB: memory?.pamtMiB ?? null,
    tdMemoryMiB: memory?.tdMemoryMiB ?? null,
    allocatedMemoryMiB: memory?.allocatedMemoryMiB ?? null,
    freeMemoryMiB: memory?.freeMemoryMiB ?? null,
    excessMemoryMiB: memory?.excessMemoryMiB ?? null,
  };
}

/** Capacity summed over hosts: what what-if compares before and after, and the fleet summary reports. */
export interface CapacityTotals {
  tdxEnabledHosts: number;
  /** R1 v2: hosts (of all) whose kvm_intel fails to load. */
  kvmLoadFailingHosts: number;
  /** Free guest KeyIDs on TDX-enabled hosts: how many more TDs can start. */
  tdSlots: number;
  /** presentCpus x allocationRatio (rounded down) summed over TDX-enabled hosts. */
  schedulableVcpus: number;
  /** Free vCPUs (schedulable - allocated) on TDX-enabled hosts. */
  freeVcpus: number;
  /** R7, summed over TDX-enabled hosts of known memory (MiB). */
  tdMemoryMiB: number;
  allocatedMemoryMiB: number;
  freeMemoryMiB: number;
}

export function capacityTotals(capacities: Iterable<HostCapacity>): CapacityTotals {
  const totals = noCapacity();
  for (const c of capacities) addCapacity(totals, c);
  return totals;
}

/** Capacity totals of no host. */
export function noCapacity(): CapacityTotals {
  return {
    tdxEnabledHosts: 0,
    kvmLoadFailingHosts: 0,
    tdSlots: 0,
    schedulableVcpus: 0,
    freeVcpus: 0,
    tdMemoryMiB: 0,
    allocatedMemoryMiB: 0,
    freeMemoryMiB: 0,
  };
}

/** Adds one host's capacity to totals (capacityTotals, one host at a time). */
export function addCapacity(totals: CapacityTotals, c: HostCapacity): void {
  if (!c.kvmLoads) totals.kvmLoadFailingHosts += 1;
  if (!c.tdxEnabled) return;
  totals.tdxEnabledHosts += 1;
  totals.tdSlots += c.freeKeyIds;
  totals.schedulableVcpus += c.schedulableVcpus;
  totals.freeVcpus += c.freeVcpus;
  totals.tdMemoryMiB += c.tdMemoryMiB ?? 0;
  totals.allocatedMemoryMiB += c.allocatedMemoryMiB ?? 0;
  totals.freeMemoryMiB += c.freeMemoryMiB ?? 0;
}

// ---------------------------------------------------------------------------------------------
// R5: a TD fits on a host

/** R5's only blocker where TDX is disabled: the other conditions have no meaning without a cap. */
export const TDX_DISABLED_FIT_BLOCKER = 'TDX_DISABLED';
/** R5's conditions on a host where TDX is enabled, in the order they are reported. SQL that re-expresses R5 is keyed by these. */
export const ENABLED_HOST_FIT_BLOCKER_CODES = ['VCPUS_EXCEED_KVM_CAP', 'NO_FREE_KEYID', 'INSUFFICIENT_VCPUS', 'INSUFFICIENT_MEMORY'] as const;
export type EnabledHostFitBlockerCode = (typeof ENABLED_HOST_FIT_BLOCKER_CODES)[number];
export const FIT_BLOCKER_CODES = [TDX_DISABLED_FIT_BLOCKER, ...ENABLED_HOST_FIT_BLOCKER_CODES] as const;
export type FitBlockerCode = (typeof FIT_BLOCKER_CODES)[number];
export type FitBlocker = Problem<FitBlockerCode>;

/**
 * R5 for a TD that is not yet on the host: every failing condition. Where TDX is disabled the only
 * blocker is TDX_DISABLED (its message lists the R1 reasons): the other conditions have no meaning
 * without a cap. Memory (R7) is checked where both the host's and the TD's are known.
 */
export function tdFitBlockers(host: HostFacts, usage: HostUsage, td: TdSize): FitBlocker[] {
  const { vcpus } = td;
  const reasons = tdxDisabledReasons(host);
  const cap = capWhenEnabled(host, reasons);
  if (cap === null || host.module === null) {
    const kvm = kvmLoadsDespite(reasons) ? '' : ' (kvm_intel does not load)';
    return [{ code: TDX_DISABLED_FIT_BLOCKER, message: `TDX is disabled${kvm}: ${reasons.map((r) => r.message).join('; ')}` }];
  }
  const blockers: FitBlocker[] = [];
  if (vcpus > cap.value) {
    blockers.push({
      code: 'VCPUS_EXCEED_KVM_CAP',
      message: `${vcpus} vCPUs > KVM_CAP_MAX_VCPUS ${cap.value} (limited by ${cap.limitedBy.join(', ')})`,
    });
  }
  if (usage.tdCount >= host.guestKeyIds) {
    blockers.push({
      code: 'NO_FREE_KEYID',
      message: `no free guest KeyID: ${usage.tdCount} TDs placed, ${host.guestKeyIds} guest KeyIDs`,
    });
  }
  const schedulable = schedulableVcpus(host);
  if (usage.allocatedVcpus + vcpus > schedulable) {
    blockers.push({
      code: 'INSUFFICIENT_VCPUS',
      message: `${usage.allocatedVcpus} allocated + ${vcpus} vCPUs > ${schedulable} schedulable vCPUs`,
    });
  }
  if (host.memoryMiB !== null && td.memoryMiB !== null) {
    // R7: TD private memory is pinned, so never overcommitted.
    const forTdsKiB = 1024 * tdMemoryMiB({ memoryMiB: host.memoryMiB, reservedMemoryMiB: host.reservedMemoryMiB });
    const usedKiB = allocatedMemoryKiB(host.module, usage);
    const footprint = tdFootprintKiB(host.module, { vcpus, memoryMiB: td.memoryMiB });
    if (usedKiB + footprint > forTdsKiB) {
      blockers.push({
        code: 'INSUFFICIENT_MEMORY',
        message: `${usedKiB} KiB allocated + ${footprint} KiB footprint > ${forTdsKiB} KiB for TDs`,
      });
    }
  }
  return blockers;
}

/**
 * R5 as one number: the largest new TD (in vCPUs) the host accepts now, 0 when it accepts none.
 * A TD of v vCPUs passes every R5 condition iff 1 <= v <= this. What-if indexes hosts by it, and
 * the fleet summary's largestPlaceableTdVcpus is its maximum (in SQL, src/planning/rules-sql.ts).
 */
export function largestAcceptedTdVcpus(c: HostCapacity): number {
  return c.tdxEnabled && c.freeKeyIds > 0 ? Math.min(c.kvmCapMaxVcpus ?? 0, c.freeVcpus) : 0;
}

/**
 * R5, last sentence: a placed TD fits where it runs when TDX is enabled on its host and its vCPUs
 * are within the host's cap. Its KeyID and vCPUs are already in the host's usage, so KeyIDs and
 * the allocation ratio are not checked again (that would count the TD twice).
 */
export function fitsWhereItRuns(host: TdxStatusFacts, vcpus: number): boolean {
  return fitsUnderCap(kvmCapMaxVcpus(host)?.value ?? null, vcpus);
}

/** fitsWhereItRuns() with the host's cap known (null: TDX disabled). */
export function fitsUnderCap(kvmCapMaxVcpus: number | null, vcpus: number): boolean {
  return kvmCapMaxVcpus !== null && vcpus <= kvmCapMaxVcpus;
}

// ---------------------------------------------------------------------------------------------
// R6: migration

export const MIGRATION_BLOCKER_CODES = ['NOT_MIGRATABLE', 'SAME_HOST', ...FIT_BLOCKER_CODES, 'MIGRATION_UNSUPPORTED', 'MIGRATION_VERSION_MISMATCH'] as const;
export type MigrationBlockerCode = (typeof MIGRATION_BLOCKER_CODES)[number];
export type MigrationBlocker = Problem<MigrationBlockerCode>;

/** What each fit and migration blocker means, for people (the API describes its codes with these). */
export const BLOCKER_CODE_DESCRIPTIONS: Record<MigrationBlockerCode, string> = {
  NOT_MIGRATABLE: 'R6: the TD is not migratable.',
  SAME_HOST: 'R6: the target is the host the TD runs on (R6 v2: then only NOT_MIGRATABLE may join it).',
  TDX_DISABLED: 'R5: TDX is disabled on the host (the message lists the R1 reasons); no other blocker is evaluated.',
  VCPUS_EXCEED_KVM_CAP: "R5: the TD's vCPUs exceed the host's effective KVM_CAP_MAX_VCPUS.",
  NO_FREE_KEYID: 'R5: every guest KeyID is in use (one per TD).',
  INSUFFICIENT_VCPUS: 'R5: allocated vCPUs plus the TD would exceed presentCpus x allocationRatio.',
  INSUFFICIENT_MEMORY:
    "R5 v2, R7: the footprints of the host's TDs plus the TD's would exceed the host's memory for TDs (checked where both memories are known).",
  MIGRATION_UNSUPPORTED: 'R6: the source or target module declares no TD-migration support (or there is no module).',
  MIGRATION_VERSION_MISMATCH: "R6: the source module's export versions do not overlap the target module's import versions.",
};

/** Orders blockers (or counts of them) as the codes are listed: fit conditions in R5's order, then R6's. */
export function byBlockerCodeOrder(a: { code: string }, b: { code: string }): number {
  const order: readonly string[] = MIGRATION_BLOCKER_CODES;
  return order.indexOf(a.code) - order.indexOf(b.code);
}

/** R6: the source module exports a version the target module imports (the two ranges overlap; touching counts). */
export function migrationVersionsOverlap(source: MigrationVersions, target: MigrationVersions): boolean {
  return source.minExportVersion <= target.maxImportVersion && target.minImportVersion <= source.maxExportVersion;
}

export interface MigrationCase {
  /** The TD to move; hostId is the host it runs on. */
  td: TdSize & { migratable: boolean; hostId: number | null };
  /** The host it runs on: only its module's migration ranges matter. */
  sourceHost: HostFacts;
  targetHostId: number;
  targetHost: HostFacts;
  /** The target's usage without the TD. */
  targetUsage: HostUsage;
}

function migrationSupportGap(side: 'source' | 'target', host: HostFacts): string | null {
  if (host.module === null) return `the ${side} host has no TDX module`;
  if (host.module.migration === null) return `the ${side} host's TDX module declares no migration support`;
  return null;
}

/**
 * R6: every reason the TD cannot move to the target; empty when the migration is compatible.
 * The version ranges are compared only where both modules declare them; otherwise the move is
 * MIGRATION_UNSUPPORTED and there is nothing to compare. R6 v2: for the TD's own host only
 * NOT_MIGRATABLE and SAME_HOST apply (its own resources would be counted twice).
 */
export function migrationBlockers(c: MigrationCase): MigrationBlocker[] {
  const blockers: MigrationBlocker[] = [];
  if (!c.td.migratable) blockers.push({ code: 'NOT_MIGRATABLE', message: 'the TD is not migratable' });
  if (c.td.hostId === c.targetHostId) {
    blockers.push({ code: 'SAME_HOST', message: `the TD already runs on the target host ${c.targetHostId}` });
    return blockers;
  }
  blockers.push(...tdFitBlockers(c.targetHost, c.targetUsage, c.td));
  const gaps = [migrationSupportGap('source', c.sourceHost), migrationSupportGap('target', c.targetHost)].filter((gap): gap is string => gap !== null);
  const exporting = c.sourceHost.module?.migration;
  const importing = c.targetHost.module?.migration;
  if (!exporting || !importing) {
    blockers.push({ code: 'MIGRATION_UNSUPPORTED', message: gaps.join('; ') });
  } else if (!migrationVersionsOverlap(exporting, importing)) {
    blockers.push({
      code: 'MIGRATION_VERSION_MISMATCH',
      message:
        `source module exports versions ${exporting.minExportVersion}-${exporting.maxExportVersion}, ` +
        `target module imports ${importing.minImportVersion}-${importing.maxImportVersion}: no common version`,
    });
  }
  return blockers;
}

// ---------------------------------------------------------------------------------------------
// N1: module floor

export interface PlatformShape {
  sockets: number;
  coresPerSocket: number;
  threadsPerCore: number;
}

export function maxLogicalCpus(platform: PlatformShape): number {
  return platform.sockets * platform.coresPerSocket * platform.threadsPerCore;
}

export const MODULE_FLOOR_COMPONENTS = ['HOST_PRESENT_CPUS', 'TD_VCPUS', 'PLATFORM_MAX_LOGICAL_CPUS'] as const;
export type ModuleFloorComponentName = (typeof MODULE_FLOOR_COMPONENTS)[number];

export interface ModuleFloorComponent {
  /** The largest member value; null when the component has no members. */
  value: number | null;
  /** Names of every member reaching the value (hostnames, TD names or platform names). */
  boundBy: string[];
}

export interface ModuleFloorInput {
  /** Hosts running the module on a platform it supports. */
  hosts: readonly { hostname: string; presentCpus: number }[];
  /** TDs placed on those hosts. */
  tds: readonly { name: string; vcpus: number }[];
  /** Platforms the module supports. */
  platforms: readonly { name: string; maxLogicalCpus: number }[];
}

export interface ModuleFloor {
  /** The lowest MAX_VCPUS_PER_TD that harms nothing; at least 1, as the value always is. */
  floor: number;
  /** (a) R1 under PRESENT_CPUS keeps TDX on these hosts only if MAX_VCPUS_PER_TD >= presentCpus. */
  hostPresentCpus: ModuleFloorComponent;
  /** (b) Under MODULE_LIMIT, placed TDs keep their cap only if MAX_VCPUS_PER_TD >= vcpus. */
  tdVcpus: ModuleFloorComponent;
  /** (c) The module team's promise: the value reflects the largest platform it supports. */
  platformMaxLogicalCpus: ModuleFloorComponent;
  /** The components equal to the floor; empty when the module runs nothing and supports nothing. */
  boundBy: ModuleFloorComponentName[];
}

function floorComponent<Member>(members: readonly Member[], valueOf: (member: Member) => number, nameOf: (member: Member) => string): ModuleFloorComponent {
  if (members.length === 0) return { value: null, boundBy: [] };
  const value = Math.max(...members.map(valueOf));
  return { value, boundBy: members.filter((m) => valueOf(m) === value).map(nameOf) };
}

/** N1: the largest of (a) hosts' present CPUs, (b) placed TDs' vCPUs, (c) platforms' logical CPUs. */
export function moduleFloor(input: ModuleFloorInput): ModuleFloor {
  const hostPresentCpus = floorComponent(
    input.hosts,
    (h) => h.presentCpus,
    (h) => h.hostname,
  );
  const tdVcpus = floorComponent(
    input.tds,
    (t) => t.vcpus,
    (t) => t.name,
  );
  const platformMaxLogicalCpus = floorComponent(
    input.platforms,
    (p) => p.maxLogicalCpus,
    (p) => p.name,
  );
  const components: [ModuleFloorComponentName, ModuleFloorComponent][] = [
    ['HOST_PRESENT_CPUS', hostPresentCpus],
    ['TD_VCPUS', tdVcpus],
    ['PLATFORM_MAX_LOGICAL_CPUS', platformMaxLogicalCpus],
  ];
  // MAX_VCPUS_PER_TD is at least 1, so an empty fleet (or one of zeros) still has floor 1.
  const floor = Math.max(1, ...components.map(([, c]) => c.value ?? 1));
  return {
    floor,
    hostPresentCpus,
    tdVcpus,
    platformMaxLogicalCpus,
    boundBy: components.filter(([, c]) => c.value === floor).map(([name]) => name),
  };
}

// ---------------------------------------------------------------------------------------------
// N3: module x platform matrix

export interface FullyPopulatedPlatform {
  tdxEnabled: boolean;
  tdxDisabledReasons: TdxDisabledReason[];
  kvmCapMaxVcpus: KvmCap | null;
  /** N3 v2: whether kvm_intel still loads (with kvm_intel.tdx=1). */
  kvmLoads: boolean;
}

/**
 * N3, one cell: a host of the platform with every logical CPU present, the module loaded (and
 * supporting the platform), guest KeyIDs configured and kvm_intel.tdx=1, under the kernel's
 * behaviour. Only the module's features and MAX_VCPUS_PER_TD (stage 1 of R1 v2) can then fail.
 * N3 v2 asks it of a mainline kernel: { kvmMaxVcpus, ...MAINLINE_TDX_BEHAVIOUR }.
 */
export function fullyPopulatedPlatform(module: ModuleFacts, platform: PlatformShape, kernel: KernelFacts): FullyPopulatedPlatform {
  const host: HostFacts = {
    presentCpus: maxLogicalCpus(platform),
    guestKeyIds: 1,
    allocationRatio: 1,
    module,
    moduleSupportsPlatform: true,
    kernel,
    kvmIntelTdx: true,
    memoryMiB: null,
    reservedMemoryMiB: 0,
  };
  const reasons = tdxDisabledReasons(host);
  return {
    tdxEnabled: reasons.length === 0,
    tdxDisabledReasons: reasons,
    kvmCapMaxVcpus: capWhenEnabled(host, reasons),
    kvmLoads: kvmLoadsDespite(reasons),
  };
}

// ---------------------------------------------------------------------------------------------
// The kernel's own words: what tdx.c prints when an R1 condition fails. `tdplan probe` reads a
// host's kernel log; the drift check (src/planning/drift.ts) maps each failure line it saw back to
// the condition, to compare with tdxDisabledReasons().

export interface TdxReasonLogLine {
  code: TdxDisabledReasonCode;
  /** Text the failure line contains. */
  says: string;
}

export const TDX_REASON_LOG_LINES: readonly TdxReasonLogLine[] = [
  // arch/x86/kvm/vmx/tdx.c: "Disable TDX: MAX_VCPU_PER_TD (%u) smaller than number of logical CPUs (%u)."
  { code: 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS', says: 'Disable TDX: MAX_VCPU_PER_TD' },
  { code: 'NO_GUEST_KEYIDS', says: 'no TDX private KeyIDs available' },
  // arch/x86/virt/vmx/tdx/tdx.c check_features(): "frame pointer (RBP) clobber bug present, upgrade TDX module"
  { code: 'NO_RBP_MOD', says: 'frame pointer (RBP) clobber bug present' },
];

/** The R1 condition a kernel log line reports as failed, if it is one of TDX_REASON_LOG_LINES. */
export function tdxReasonOfLogLine(line: string): TdxDisabledReasonCode | null {
  return TDX_REASON_LOG_LINES.find((l) => line.includes(l.says))?.code ?? null;
}

/** R1: a host with kvm_intel.tdx=Y and no TDX module in its log met the first condition: no module. */
export const NO_MODULE_REASON: TdxDisabledReasonCode = 'NO_MODULE';
/** R1 v2: a host whose loaded kvm_intel has tdx=N never asked for TDX. */
export const NOT_REQUESTED_REASON: TdxDisabledReasonCode = 'TDX_NOT_REQUESTED';
