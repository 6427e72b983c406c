// Pure parsers for what `tdplan probe` reads from a host: each takes a file's text (and the path
// it came from, for messages) and returns facts, or throws MalformedFileError naming the file.
// No I/O here: src/probe/read.ts reads the files, the tests feed fixture text.
import type { KernelLogFailureKind, KernelLogObservations } from './report.js';

/** A file the probe read is not in the format the kernel writes. */
export class MalformedFileError extends Error {
  override readonly name = 'MalformedFileError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

const quote = (text: string): string => JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);

/** One line of text: the file's content without its trailing newline; empty or multi-line is malformed. */
function singleLine(text: string, file: string, what: string): string {
  const line = text.replace(/\n$/, '');
  if (line.trim() === '' || line.includes('\n')) throw new MalformedFileError(file, `expected one line with ${what}, got ${quote(text)}`);
  return line.trim();
}

/** /proc/sys/kernel/hostname and /proc/sys/kernel/osrelease: one non-empty word. */
export function parseWord(text: string, file: string, what: string): string {
  const word = singleLine(text, file, what);
  if (/\s/.test(word)) throw new MalformedFileError(file, `expected ${what} (one word), got ${quote(text)}`);
  return word;
}

/**
 * A kernel CPU range list (/sys/devices/system/cpu/present): `0-255`, `0-3,8-11`, `0`.
 * Returns the number of CPUs it names (num_present_cpus()).
 */
export function parseCpuRangeList(text: string, file: string): number {
  const line = singleLine(text, file, 'a CPU range list such as 0-255');
  const seen = new Set<number>();
  for (const part of line.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    const first = m ? Number(m[1]) : NaN;
    const last = m?.[2] !== undefined ? Number(m[2]) : first;
    if (!m || last < first || last > 1_000_000) throw new MalformedFileError(file, `not a CPU range list: ${quote(line)} (bad part ${quote(part)})`);
    for (let cpu = first; cpu <= last; cpu++) seen.add(cpu);
  }
  return seen.size;
}

/** MemTotal of /proc/meminfo, in MiB rounded down (the file says kB, meaning KiB). */
export function parseMemTotalMiB(text: string, file: string): number {
  const m = /^MemTotal:\s+(\d+) kB$/m.exec(text);
  if (!m) throw new MalformedFileError(file, 'no "MemTotal: <n> kB" line');
  return Math.floor(Number(m[1]) / 1024);
}

/**
 * The `tdx` line of /sys/fs/cgroup/misc.capacity: TDX private KeyIDs for guests. Every line is
 * `<resource> <count>`; without a tdx line the host has none (0).
 */
export function parseMiscCapacityTdx(text: string, file: string): number {
  let tdx = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const m = /^(\S+) (\d+)$/.exec(line.trim());
    if (!m) throw new MalformedFileError(file, `expected "<resource> <count>" lines, got ${quote(line)}`);
    if (m[1] === 'tdx') tdx = Number(m[2]);
  }
  return tdx;
}

/** /sys/module/kvm_intel/parameters/tdx: a bool module parameter, shown as Y or N. */
export function parseKvmIntelTdx(text: string, file: string): boolean {
  const value = singleLine(text, file, 'Y or N');
  if (value === 'Y') return true;
  if (value === 'N') return false;
  throw new MalformedFileError(file, `expected Y or N, got ${quote(value)}`);
}

/** KVM_MAX_VCPUS on x86 when the build does not set CONFIG_KVM_MAX_NR_VCPUS (arch/x86/kvm/Kconfig). */
export const DEFAULT_KVM_MAX_VCPUS = 1024;
/** ... and its default with CONFIG_MAXSMP=y. */
export const MAXSMP_KVM_MAX_VCPUS = 4096;

/**
 * KVM_MAX_VCPUS of a kernel from its /boot/config-<release>: CONFIG_KVM_MAX_NR_VCPUS if set, else
 * 4096 with CONFIG_MAXSMP=y, else 1024 (the Kconfig defaults).
 */
export function parseKernelConfigKvmMaxVcpus(text: string, file: string): number {
  const setting = /^CONFIG_KVM_MAX_NR_VCPUS=(.*)$/m.exec(text);
  if (setting) {
    const value = setting[1]!.trim();
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new MalformedFileError(file, `CONFIG_KVM_MAX_NR_VCPUS is not a positive number: ${quote(value)}`);
    return Number(value);
  }
  return /^CONFIG_MAXSMP=y$/m.test(text) ? MAXSMP_KVM_MAX_VCPUS : DEFAULT_KVM_MAX_VCPUS;
}

// ---------------------------------------------------------------------------------------------
// The kernel log

const FAILURE_PATTERNS: readonly [KernelLogFailureKind, RegExp][] = [
  ['MAX_VCPU_PER_TD_SMALLER', /Disable TDX: MAX_VCPU_PER_TD \((\d+)\) smaller than number of logical CPUs \((\d+)\)/],
  ['RBP_CLOBBER_BUG', /frame pointer \(RBP\) clobber bug present/],
  ['MODULE_INIT_FAILED', /virt\/tdx: module initialization failed/],
  ['NO_PRIVATE_KEYIDS', /no TDX private KeyIDs available/],
];

/**
 * Reads the TDX lines of a kernel log (dmesg output, with or without timestamps). Lines that are
 * not about TDX are ignored; a log without any is simply a host where nothing TDX happened.
 */
export function parseKernelLog(text: string): KernelLogObservations {
  const observed: KernelLogObservations = { moduleVersion: null, pamtKiB: null, privateKeyIdRange: null, initialized: false, failures: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\s*\[\s*[\d.]+\]\s*/, '').trimEnd();
    let m: RegExpExecArray | null;
    if ((m = /virt\/tdx: Initializing TDX module: (\d+\.\d+\.\d+\.\d+\.\d+)\b/.exec(line))) observed.moduleVersion = m[1]!;
    else if ((m = /virt\/tdx: TDX module version: (\d+(?:\.\d+)+)\b/.exec(line))) observed.moduleVersion = m[1]!;
    else if ((m = /virt\/tdx: (\d+) KB allocated for PAMT/.exec(line))) observed.pamtKiB = Number(m[1]);
    else if ((m = /virt\/tdx: BIOS enabled: private KeyID range \[(\d+), (\d+)\)/.exec(line)))
      observed.privateKeyIdRange = { start: Number(m[1]), end: Number(m[2]) };
    else if (/virt\/tdx: module initialized\b/.test(line)) observed.initialized = true;
    else {
      for (const [kind, pattern] of FAILURE_PATTERNS) {
        const f = pattern.exec(line);
        if (!f) continue;
        observed.failures.push(kind === 'MAX_VCPU_PER_TD_SMALLER' ? { kind, line, maxVcpusPerTd: Number(f[1]), logicalCpus: Number(f[2]) } : { kind, line });
        break;
      }
    }
  }
  return observed;
}

// ---------------------------------------------------------------------------------------------
// /proc/cpuinfo and platforms

export interface CpuTopology {
  vendor: string;
  family: number;
  model: number;
  /** Distinct `physical id`s of the online CPUs. */
  sockets: number;
  coresPerSocket: number;
  threadsPerCore: number;
}

/** The first processor's identity and the topology /proc/cpuinfo reports (x86 format). */
export function parseCpuinfo(text: string, file: string): CpuTopology {
  const blocks = text.split(/\n\s*\n/).filter((b) => /^processor\s*:/m.test(b));
  if (blocks.length === 0) throw new MalformedFileError(file, 'no "processor" entries');
  const field = (block: string, name: string): string | undefined => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(block)?.[1]?.trim();
  const number = (block: string, name: string): number => {
    const value = field(block, name);
    if (value === undefined || !/^\d+$/.test(value)) throw new MalformedFileError(file, `"${name}" is missing or not a number (${quote(value ?? '')})`);
    return Number(value);
  };
  const first = blocks[0]!;
  const vendor = field(first, 'vendor_id');
  if (!vendor) throw new MalformedFileError(file, 'no "vendor_id"');
  const cores = number(first, 'cpu cores');
  const siblings = number(first, 'siblings');
  if (cores < 1 || siblings < cores || siblings % cores !== 0)
    throw new MalformedFileError(file, `"siblings" ${siblings} is not a multiple of "cpu cores" ${cores}`);
  const sockets = new Set(blocks.map((b) => number(b, 'physical id'))).size;
  return { vendor, family: number(first, 'cpu family'), model: number(first, 'model'), sockets, coresPerSocket: cores, threadsPerCore: siblings / cores };
}

/**
 * The Intel server generations tdplan knows by family 6 model number (arch/x86/include/asm/
 * intel-family.h), with the core count that separates a generation's AP (more cores) from its
 * SP parts where both share one model number.
 */
const KNOWN_GENERATIONS: ReadonlyMap<number, { name: string; apAboveCoresPerSocket?: number }> = new Map([
  [0x8f, { name: 'SPR' }], // INTEL_SAPPHIRERAPIDS_X
  [0xcf, { name: 'EMR' }], // INTEL_EMERALDRAPIDS_X
  [0xad, { name: 'GNR', apAboveCoresPerSocket: 86 }], // INTEL_GRANITERAPIDS_X: 6900P (AP) up to 128 cores, 6700P (SP) up to 86
  [0xae, { name: 'GNR-D' }], // INTEL_GRANITERAPIDS_D
  [0xaf, { name: 'SRF', apAboveCoresPerSocket: 144 }], // INTEL_ATOM_CRESTMONT_X: 6900E (AP) up to 288 cores, 6700E (SP) up to 144
  [0xdd, { name: 'CWF' }], // INTEL_ATOM_DARKMONT_X
]);

export type PlatformMatch = { name: string } | { name: null; why: string };

/**
 * The platform name tdplan uses for a host (`EMR-2S`, `GNR-SP-4S`: generation, AP/SP where one
 * model number covers both, sockets), or why there is none.
 */
export function platformFromCpu(cpu: CpuTopology): PlatformMatch {
  const what = `${cpu.vendor} family ${cpu.family} model ${cpu.model} (0x${cpu.model.toString(16)})`;
  const generation = cpu.vendor === 'GenuineIntel' && cpu.family === 6 ? KNOWN_GENERATIONS.get(cpu.model) : undefined;
  if (!generation) return { name: null, why: `${what} is not a CPU platform tdplan knows` };
  const variant = generation.apAboveCoresPerSocket === undefined ? '' : cpu.coresPerSocket > generation.apAboveCoresPerSocket ? '-AP' : '-SP';
  return { name: `${generation.name}${variant}-${cpu.sockets}S` };
}
