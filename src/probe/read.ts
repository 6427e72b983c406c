// Reads a host's TDX facts from the files the kernel exposes, under a root directory (`/` on the
// host itself, a fixture tree in tests), and the kernel log (dmesg, or a file). Parsing is in
// src/probe/parse.ts; this module only reads, and decides what an absent file means.
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  DEFAULT_KVM_MAX_VCPUS,
  parseCpuinfo,
  parseCpuRangeList,
  parseKernelConfigKvmMaxVcpus,
  parseKernelLog,
  parseKvmIntelTdx,
  parseMemTotalMiB,
  parseMiscCapacityTdx,
  parseWord,
  platformFromCpu,
} from './parse.js';
import type { ProbeReport } from './report.js';

export type { ProbeReport } from './report.js';

/** What the probe could not know and the person running it should hear (printed on stderr). */
export interface ProbeResult {
  report: ProbeReport;
  notes: string[];
}

/** A file or command the probe needs could not be read; the message names it. */
export class ProbeReadError extends Error {
  override readonly name = 'ProbeReadError';
}

export interface ProbeOptions {
  /** Read every path under this directory instead of `/`. */
  root: string;
  /** Read the kernel log from this file instead of running `dmesg`. */
  kernelLog?: string | undefined;
  /** The platform's name, instead of matching /proc/cpuinfo. */
  platform?: string | undefined;
}

const describeError = (err: unknown): string => {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file';
  if (e.code === 'EACCES' || e.code === 'EPERM') return 'permission denied';
  if (e.code === 'EISDIR') return 'is a directory';
  return e.message;
};

/** The file's text, or null when it does not exist (absent files have meanings; other errors do not). */
async function readOptional(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ProbeReadError(`cannot read ${file}: ${describeError(err)}`);
  }
}

async function readRequired(file: string, why: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ProbeReadError(`cannot read ${file} (${why}): ${describeError(err)}`);
  }
}

/** `dmesg`, as the user running the probe may read it. */
export function runDmesg(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('dmesg', [], { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const e = err as NodeJS.ErrnoException & { code?: string | number };
      const why =
        e.code === 'ENOENT'
          ? 'dmesg is not installed'
          : /not permitted|permission denied/i.test(stderr)
            ? `dmesg is not permitted for this user (${stderr.trim()}); run the probe as root, or allow it with sysctl kernel.dmesg_restrict=0`
            : `dmesg failed: ${stderr.trim() || e.message}`;
      reject(new ProbeReadError(`cannot read the kernel log: ${why}; or pass the log with --kernel-log FILE`));
    });
  });
}

export async function probeHost(options: ProbeOptions): Promise<ProbeResult> {
  const at = (p: string): string => path.join(options.root, p);
  const notes: string[] = [];

  const hostnameFile = at('/proc/sys/kernel/hostname');
  const hostname = parseWord(await readRequired(hostnameFile, 'the host name'), hostnameFile, 'a host name');
  const releaseFile = at('/proc/sys/kernel/osrelease');
  const release = parseWord(await readRequired(releaseFile, 'the kernel release'), releaseFile, 'a kernel release');
  const presentFile = at('/sys/devices/system/cpu/present');
  const presentCpus = parseCpuRangeList(await readRequired(presentFile, 'the present CPUs'), presentFile);
  const meminfoFile = at('/proc/meminfo');
  const memoryMiB = parseMemTotalMiB(await readRequired(meminfoFile, 'the memory size'), meminfoFile);

  const miscFile = at('/sys/fs/cgroup/misc.capacity');
  const misc = await readOptional(miscFile);
  const guestKeyIds = misc === null ? 0 : parseMiscCapacityTdx(misc, miscFile);
  if (misc === null) notes.push(`${miscFile} does not exist (no misc cgroup controller): 0 guest KeyIDs`);

  const tdxParamFile = at('/sys/module/kvm_intel/parameters/tdx');
  const tdxParam = await readOptional(tdxParamFile);
  const kvmIntelTdx = tdxParam === null ? false : parseKvmIntelTdx(tdxParam, tdxParamFile);
  if (tdxParam === null) notes.push(`${tdxParamFile} does not exist (kvm_intel is not loaded, or has no tdx parameter): kvm_intel.tdx counts as N`);

  const configFile = at(`/boot/config-${release}`);
  const config = await readOptional(configFile);
  const kvmMaxVcpus = config === null ? DEFAULT_KVM_MAX_VCPUS : parseKernelConfigKvmMaxVcpus(config, configFile);
  if (config === null) notes.push(`${configFile} does not exist: KVM_MAX_VCPUS assumed ${DEFAULT_KVM_MAX_VCPUS}, the x86 default`);

  let platform: string | null = options.platform ?? null;
  if (platform === null) {
    const cpuinfoFile = at('/proc/cpuinfo');
    const cpuinfo = await readOptional(cpuinfoFile);
    if (cpuinfo === null) notes.push(`${cpuinfoFile} does not exist: the platform is unknown; pass --platform NAME`);
    else {
      const match = platformFromCpu(parseCpuinfo(cpuinfo, cpuinfoFile));
      platform = match.name;
      if (match.name === null) notes.push(`platform unknown: ${match.why}; pass --platform NAME`);
    }
  }

  const kvmIntelLoaded = await stat(at('/sys/module/kvm_intel')).then(
    (s) => s.isDirectory(),
    () => false,
  );

  const log = options.kernelLog === undefined ? await runDmesg() : await readRequired(options.kernelLog, 'the kernel log');
  const observed = parseKernelLog(log);

  return {
    report: {
      host: { hostname, platform, module: observed.moduleVersion, kernel: release, presentCpus, guestKeyIds, kvmIntelTdx, memoryMiB },
      kernel: { name: release, kvmMaxVcpus },
      observed: { ...observed, kvmIntelLoaded },
    },
    notes,
  };
}
