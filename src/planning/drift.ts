// Drift: what a host reports (tdplan probe) against what tdplan records and predicts for it. Pure:
// the command (src/commands/observations.ts) loads the host and stores the answer.
//
// Two kinds of difference: the inventory's facts are stale (module, kernel, CPUs, KeyIDs...), and
// the rules' predictions are wrong about reality (TDX enabled, KVM loading, the reason, PAMT). Both
// mean the plan contradicts the host, so both count as drift.
import { NO_MODULE_REASON, NOT_REQUESTED_REASON, pamtMiB, tdxReasonOfLogLine, type HostCapacity, type TdxDisabledReasonCode } from '../capacity/rules.js';
import type { ProbeReport } from '../probe/report.js';

export const DRIFT_FIELDS = [
  'PLATFORM',
  'MODULE',
  'KERNEL',
  'KVM_MAX_VCPUS',
  'PRESENT_CPUS',
  'GUEST_KEY_IDS',
  'KVM_INTEL_TDX',
  'MEMORY',
  'TDX_ENABLED',
  'KVM_LOADS',
  'TDX_DISABLED_REASON',
  'PAMT',
] as const;
export type DriftField = (typeof DRIFT_FIELDS)[number];

export interface DriftDifference {
  field: DriftField;
  /** What the inventory records or the rules predict. */
  predicted: string;
  /** What the host reported. */
  observed: string;
  message: string;
}

/** The host as tdplan records it, and what the rules predict for it. */
export interface PlannedHost {
  platform: string;
  module: string | null;
  kernel: string;
  kvmMaxVcpus: number;
  presentCpus: number;
  guestKeyIds: number;
  /** The kvm_intel.tdx parameter as recorded. */
  kvmIntelTdx: boolean;
  /** The host's RAM as recorded; null when unknown (R7 then uses the memory the probe observed). */
  memoryMiB: number | null;
  /** What the rules answer for the host (R1 v2 reasons and kvmLoads, R3, R7). */
  capacity: HostCapacity;
}

/** PAMT agrees when within 1% of the prediction: tdx.c sizes it per TDMR, not exactly RAM/256. */
export const PAMT_TOLERANCE = 0.01;
/** Recorded memory agrees with MemTotal within 1%: MemTotal moves a little between boots and kernels. */
export const MEMORY_TOLERANCE = 0.01;

/** A printed version names a module when equal, or when it is the short form (`1.5.24`) of the full one. */
export function moduleVersionMatches(printed: string, version: string): boolean {
  return printed === version || version.startsWith(`${printed}.`);
}

/** What the kernel log says about TDX on the host: enabled, and why not (the R1 conditions it names). */
export function observedTdx(probe: ProbeReport): { enabled: boolean; reasons: TdxDisabledReasonCode[] } {
  const o = probe.observed;
  const enabled = o.kvmIntelLoaded && probe.host.kvmIntelTdx && o.initialized && o.failures.length === 0;
  const reasons = new Set<TdxDisabledReasonCode>();
  for (const failure of o.failures) {
    const code = tdxReasonOfLogLine(failure.line);
    if (code) reasons.add(code);
  }
  // Only a loaded kvm_intel shows its tdx parameter: when it is not loaded, N means "unknown".
  if (o.kvmIntelLoaded && !probe.host.kvmIntelTdx) reasons.add(NOT_REQUESTED_REASON);
  else if (o.kvmIntelLoaded && o.moduleVersion === null && o.failures.length === 0) reasons.add(NO_MODULE_REASON);
  return { enabled, reasons: [...reasons] };
}

export function driftDifferences(planned: PlannedHost, probe: ProbeReport): DriftDifference[] {
  const differences: DriftDifference[] = [];
  const differ = (field: DriftField, predicted: string, observed: string, message: string): void => {
    differences.push({ field, predicted, observed, message });
  };
  const h = probe.host;

  // The inventory's facts.
  if (h.platform !== null && h.platform !== planned.platform)
    differ('PLATFORM', planned.platform, h.platform, `the inventory says platform ${planned.platform}, the host is ${h.platform}`);
  if (h.module === null ? planned.module !== null : planned.module === null || !moduleVersionMatches(h.module, planned.module)) {
    differ(
      'MODULE',
      planned.module ?? 'none',
      h.module ?? 'none',
      `the inventory says TDX module ${planned.module ?? 'none'}, the kernel log says ${h.module ?? 'none'}`,
    );
  }
  if (h.kernel !== planned.kernel) differ('KERNEL', planned.kernel, h.kernel, `the inventory says kernel ${planned.kernel}, the host runs ${h.kernel}`);
  else if (probe.kernel.kvmMaxVcpus !== planned.kvmMaxVcpus) {
    differ(
      'KVM_MAX_VCPUS',
      String(planned.kvmMaxVcpus),
      String(probe.kernel.kvmMaxVcpus),
      `kernel ${h.kernel}: the inventory says KVM_MAX_VCPUS ${planned.kvmMaxVcpus}, its config says ${probe.kernel.kvmMaxVcpus}`,
    );
  }
  if (h.presentCpus !== planned.presentCpus)
    differ(
      'PRESENT_CPUS',
      String(planned.presentCpus),
      String(h.presentCpus),
      `the inventory says ${planned.presentCpus} present CPUs, the host has ${h.presentCpus}`,
    );
  if (probe.observed.kvmIntelLoaded && h.kvmIntelTdx !== planned.kvmIntelTdx) {
    const yn = (v: boolean): string => (v ? 'Y' : 'N');
    differ(
      'KVM_INTEL_TDX',
      yn(planned.kvmIntelTdx),
      yn(h.kvmIntelTdx),
      `the inventory says kvm_intel.tdx=${yn(planned.kvmIntelTdx)}, the loaded kvm_intel has ${yn(h.kvmIntelTdx)}`,
    );
  }
  if (planned.memoryMiB !== null && Math.abs(h.memoryMiB - planned.memoryMiB) > MEMORY_TOLERANCE * planned.memoryMiB) {
    differ(
      'MEMORY',
      `${planned.memoryMiB} MiB`,
      `${h.memoryMiB} MiB`,
      `the inventory says ${planned.memoryMiB} MiB of RAM, MemTotal says ${h.memoryMiB} MiB (tolerance 1%)`,
    );
  }
  if (h.guestKeyIds !== planned.guestKeyIds)
    differ(
      'GUEST_KEY_IDS',
      String(planned.guestKeyIds),
      String(h.guestKeyIds),
      `the inventory says ${planned.guestKeyIds} guest KeyIDs, misc.capacity says ${h.guestKeyIds}`,
    );

  // The rules' predictions.
  const seen = observedTdx(probe);
  const predictedReasons = planned.capacity.tdxDisabledReasons.map((r) => r.code);
  if (seen.enabled !== planned.capacity.tdxEnabled) {
    differ(
      'TDX_ENABLED',
      String(planned.capacity.tdxEnabled),
      String(seen.enabled),
      planned.capacity.tdxEnabled
        ? 'the rules predict TDX enabled, the host does not have it'
        : `the rules predict TDX disabled (${predictedReasons.join(', ')}), the host has it`,
    );
  }
  if (probe.observed.kvmIntelLoaded !== planned.capacity.kvmLoads) {
    differ(
      'KVM_LOADS',
      String(planned.capacity.kvmLoads),
      String(probe.observed.kvmIntelLoaded),
      `the rules predict kvm_intel ${planned.capacity.kvmLoads ? 'loads' : 'fails to load'}, on the host it ${probe.observed.kvmIntelLoaded ? 'is loaded' : 'is not loaded'}`,
    );
  }
  // The kernel stops at the first failing condition, so it names one where the rules list all:
  // the log contradicts the rules when it names a condition they do not.
  const unexpected = seen.reasons.filter((code) => !predictedReasons.includes(code));
  if (unexpected.length > 0) {
    differ(
      'TDX_DISABLED_REASON',
      predictedReasons.join(', ') || 'none',
      unexpected.join(', '),
      `the kernel log says TDX is off because of ${unexpected.join(', ')}; the rules predict ${predictedReasons.length ? predictedReasons.join(', ') : 'no such failure'}`,
    );
  }
  if (probe.observed.pamtKiB !== null) {
    const memoryMiB = planned.memoryMiB ?? h.memoryMiB;
    const predictedKiB = pamtMiB(memoryMiB) * 1024;
    const off = Math.abs(probe.observed.pamtKiB - predictedKiB) / predictedKiB;
    if (off > PAMT_TOLERANCE) {
      differ(
        'PAMT',
        `${predictedKiB} KiB`,
        `${probe.observed.pamtKiB} KiB`,
        `PAMT is ${probe.observed.pamtKiB} KiB, ${(off * 100).toFixed(1)}% off the ${predictedKiB} KiB R7 predicts for ${memoryMiB} MiB (tolerance 1%)`,
      );
    }
  }
  return differences;
}
