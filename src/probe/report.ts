// The shape of what `tdplan probe` reports: the document `--json` prints and the API takes
// (applyHostProbe, checkHostDrift). Types and vocabulary only, so the layers that read reports
// (planning, commands, GraphQL) need not import the code that reads hosts.

/** What the kernel said about TDX. Every field is as printed; null where the log did not say. */
export interface KernelLogObservations {
  /** The TDX module version as printed: `1.5.06.00.0744`, or `1.5.24` from kernels that print the short form. */
  moduleVersion: string | null;
  /** `virt/tdx: N KB allocated for PAMT`. */
  pamtKiB: number | null;
  /** `virt/tdx: BIOS enabled: private KeyID range [start, end)`. */
  privateKeyIdRange: { start: number; end: number } | null;
  /** `virt/tdx: module initialized`. */
  initialized: boolean;
  /** Every failure line, in log order, as printed (without the timestamp). */
  failures: KernelLogFailure[];
}

/** The failure lines tdx.c prints (arch/x86/virt/vmx/tdx/tdx.c and arch/x86/kvm/vmx/tdx.c). */
export const KERNEL_LOG_FAILURE_KINDS = ['MAX_VCPU_PER_TD_SMALLER', 'RBP_CLOBBER_BUG', 'MODULE_INIT_FAILED', 'NO_PRIVATE_KEYIDS'] as const;
export type KernelLogFailureKind = (typeof KERNEL_LOG_FAILURE_KINDS)[number];

export interface KernelLogFailure {
  kind: KernelLogFailureKind;
  /** The line as printed, without the `[ 1.234567]` timestamp. */
  line: string;
  /** For MAX_VCPU_PER_TD_SMALLER: the two numbers the kernel printed. */
  maxVcpusPerTd?: number;
  logicalCpus?: number;
}

/** The probe's answer; `--json` prints exactly this. */
export interface ProbeReport {
  host: {
    hostname: string;
    /** The platform name (from --platform, or matched from /proc/cpuinfo); null when unknown. */
    platform: string | null;
    /** The TDX module version the kernel log printed; null when it printed none. */
    module: string | null;
    /** The kernel release (/proc/sys/kernel/osrelease): the kernel's name in the inventory. */
    kernel: string;
    presentCpus: number;
    guestKeyIds: number;
    kvmIntelTdx: boolean;
    memoryMiB: number;
  };
  kernel: { name: string; kvmMaxVcpus: number };
  /** What the kernel log said, and whether kvm_intel is loaded (/sys/module/kvm_intel exists). */
  observed: KernelLogObservations & { kvmIntelLoaded: boolean };
}
