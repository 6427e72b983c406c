// Fixture hosts for the probe: a directory tree laid out like / (the files tdplan probe reads)
// and a kernel log, written into a temporary directory by each test.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface FixtureHost {
  hostname?: string;
  release?: string;
  present?: string;
  memTotalKiB?: number;
  /** The text of /sys/fs/cgroup/misc.capacity; null: no such file. */
  miscCapacity?: string | null;
  /** The text of /sys/module/kvm_intel/parameters/tdx; null: no such file. */
  kvmIntelTdx?: string | null;
  /** The text of /boot/config-<release>; null: no such file. */
  kernelConfig?: string | null;
  /** The text of /proc/cpuinfo; null: no such file. */
  cpuinfo?: string | null;
  /** Replaces a file's text outright (path under the root -> text), e.g. to make it malformed. */
  override?: Record<string, string>;
  kernelLog?: string;
}

/** /proc/cpuinfo of an x86 host: one entry per logical CPU (only the fields the probe reads, and a few more). */
export function cpuinfo(vendor: string, family: number, model: number, sockets: number, coresPerSocket: number, threadsPerCore: number): string {
  const entries: string[] = [];
  let n = 0;
  for (let socket = 0; socket < sockets; socket++)
    for (let core = 0; core < coresPerSocket; core++)
      for (let thread = 0; thread < threadsPerCore; thread++)
        entries.push(
          [
            `processor\t: ${n++}`,
            `vendor_id\t: ${vendor}`,
            `cpu family\t: ${family}`,
            `model\t\t: ${model}`,
            'model name\t: Test CPU',
            `physical id\t: ${socket}`,
            `siblings\t: ${coresPerSocket * threadsPerCore}`,
            `core id\t\t: ${core}`,
            `cpu cores\t: ${coresPerSocket}`,
            'flags\t\t: fpu vme de pse tsc msr pae',
          ].join('\n'),
        );
  return `${entries.join('\n\n')}\n\n`;
}

/** An Emerald Rapids 2-socket host (EMR-2S: 2 x 64 cores x 2 threads). */
export const EMR_2S_CPUINFO = cpuinfo('GenuineIntel', 6, 0xcf, 2, 64, 2);

/** The kernel log of a healthy TDX host running module 1.5.06.00.0744 with 256 GiB (MemTotal 257763 MiB: PAMT 1007 MiB). */
export const HEALTHY_LOG = [
  '[    0.000000] Linux version 6.16.0-tdx (builder@host) #1 SMP PREEMPT_DYNAMIC',
  '[    1.934512] virt/tdx: BIOS enabled: private KeyID range [32, 97)',
  '[    1.934518] virt/tdx: Disable ACPI S3. Turn off TDX in the BIOS to use ACPI S3.',
  '[   11.203311] virt/tdx: Initializing TDX module: 1.5.06.00.0744 (build_date 20231115, Production module).',
  '[   12.552130] virt/tdx: 1031168 KB allocated for PAMT',
  '[   12.552877] virt/tdx: module initialized',
  '[   12.560001] kvm_intel: TDX is supported.',
  '',
].join('\n');

export async function writeFixtureHost(spec: FixtureHost = {}): Promise<{ root: string; kernelLog: string }> {
  const root = await mkdtemp(path.join(tmpdir(), 'tdplan-probe-'));
  const release = spec.release ?? '6.16.0-tdx';
  const files: Record<string, string | null> = {
    '/proc/sys/kernel/hostname': `${spec.hostname ?? 'emr-p01'}\n`,
    '/proc/sys/kernel/osrelease': `${release}\n`,
    '/sys/devices/system/cpu/present': `${spec.present ?? '0-255'}\n`,
    '/proc/meminfo': `MemTotal:       ${spec.memTotalKiB ?? 263_949_312} kB\nMemFree:        200000000 kB\nMemAvailable:   210000000 kB\n`,
    '/sys/fs/cgroup/misc.capacity': spec.miscCapacity === undefined ? 'sev 0\nsev_es 0\ntdx 64\n' : spec.miscCapacity,
    '/sys/module/kvm_intel/parameters/tdx': spec.kvmIntelTdx === undefined ? 'Y\n' : spec.kvmIntelTdx,
    [`/boot/config-${release}`]:
      spec.kernelConfig === undefined
        ? 'CONFIG_X86_64=y\nCONFIG_KVM=m\nCONFIG_KVM_INTEL=m\nCONFIG_KVM_INTEL_TDX=y\nCONFIG_KVM_MAX_NR_VCPUS=4096\n'
        : spec.kernelConfig,
    '/proc/cpuinfo': spec.cpuinfo === undefined ? EMR_2S_CPUINFO : spec.cpuinfo,
    ...spec.override,
  };
  for (const [file, text] of Object.entries(files)) {
    if (text === null) continue;
    await mkdir(path.join(root, path.dirname(file)), { recursive: true });
    await writeFile(path.join(root, file), text);
  }
  const kernelLog = path.join(root, 'dmesg.txt');
  await writeFile(kernelLog, spec.kernelLog ?? HEALTHY_LOG);
  return { root, kernelLog };
}
