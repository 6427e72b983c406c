// tdplan probe on fixture hosts (trees laid out like /, made here) and on this machine's real /.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CliError } from '../../src/cli-error.js';
import { formatProbeText, runProbe } from '../../src/cli/probe.js';
import { probeHost } from '../../src/probe/read.js';
import { cpuinfo, EMR_2S_CPUINFO, HEALTHY_LOG, writeFixtureHost, type FixtureHost } from './fixture-host.js';

// These tests run the tdplan command as a process (a few seconds each on a busy 2-core machine).
vi.setConfig({ testTimeout: 120_000 });
const BIN = path.resolve(import.meta.dirname, '../../bin/tdplan.js');
const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
});

async function fixture(spec: FixtureHost = {}): Promise<{ root: string; kernelLog: string }> {
  const made = await writeFixtureHost(spec);
  roots.push(made.root);
  return made;
}

async function probe(spec: FixtureHost = {}, platform?: string) {
  const { root, kernelLog } = await fixture(spec);
  return probeHost({ root, kernelLog, platform });
}

async function tdplan(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const withFailure = (line: string): string =>
  HEALTHY_LOG.replace(/^.*module initialized\n/m, '').replace(/^.*allocated for PAMT\n/m, '') + `[   12.6] ${line}\n`;

describe('tdplan probe on a healthy TDX host', () => {
  it('reads every fact, and --json prints exactly host, kernel and observed', async () => {
    const { root, kernelLog } = await fixture();
    const out = await tdplan(['probe', '--root', root, '--kernel-log', kernelLog, '--json']);
    expect(out.code).toBe(0);
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toEqual({
      host: {
        hostname: 'emr-p01',
        platform: 'EMR-2S',
        module: '1.5.06.00.0744',
        kernel: '6.16.0-tdx',
        presentCpus: 256,
        guestKeyIds: 64,
        kvmIntelTdx: true,
        memoryMiB: 257763,
      },
      kernel: { name: '6.16.0-tdx', kvmMaxVcpus: 4096 },
      observed: {
        moduleVersion: '1.5.06.00.0744',
        pamtKiB: 1031168,
        privateKeyIdRange: { start: 32, end: 97 },
        initialized: true,
        failures: [],
        kvmIntelLoaded: true,
      },
    });
    const text = await tdplan(['probe', '--root', root, '--kernel-log', kernelLog]);
    expect(text.stdout).toMatch(/^platform\s+EMR-2S$/m);
    expect(text.stdout).toContain('TDX module initialized; kvm_intel.tdx=Y');
  });

  it('counts present CPUs from any range list, and rounds MemTotal down to MiB', async () => {
    expect((await probe({ present: '0-3,8-11' })).report.host.presentCpus).toBe(8);
    expect((await probe({ present: '0' })).report.host.presentCpus).toBe(1);
    expect((await probe({ present: '0-511,1024-1199' })).report.host.presentCpus).toBe(688);
    expect((await probe({ memTotalKiB: 2047 })).report.host.memoryMiB).toBe(1);
  });

  it('takes KVM_MAX_VCPUS from CONFIG_KVM_MAX_NR_VCPUS, else 4096 with CONFIG_MAXSMP=y, else 1024', async () => {
    expect((await probe({ kernelConfig: 'CONFIG_KVM_MAX_NR_VCPUS=2048\nCONFIG_MAXSMP=y\n' })).report.kernel.kvmMaxVcpus).toBe(2048);
    expect((await probe({ kernelConfig: 'CONFIG_MAXSMP=y\n' })).report.kernel.kvmMaxVcpus).toBe(4096);
    expect((await probe({ kernelConfig: '# CONFIG_MAXSMP is not set\n' })).report.kernel.kvmMaxVcpus).toBe(1024);
    const absent = await probe({ kernelConfig: null });
    expect(absent.report.kernel.kvmMaxVcpus).toBe(1024);
    expect(absent.notes.join('\n')).toMatch(/config-6\.16\.0-tdx does not exist: KVM_MAX_VCPUS assumed 1024/);
  });

  it('reads the shorter module version line of other kernels as printed', async () => {
    const log = HEALTHY_LOG.replace(/Initializing TDX module: .*$/m, 'TDX module version: 1.5.24');
    const { report } = await probe({ kernelLog: log });
    expect(report.host.module).toBe('1.5.24');
    expect(report.observed.moduleVersion).toBe('1.5.24');
  });

  it('names platforms it knows from family and model, and says when it does not know one', async () => {
    const platformOf = async (text: string) => (await probe({ cpuinfo: text })).report.host.platform;
    expect(await platformOf(cpuinfo('GenuineIntel', 6, 0x8f, 2, 56, 2))).toBe('SPR-2S');
    expect(await platformOf(cpuinfo('GenuineIntel', 6, 0xad, 2, 128, 2))).toBe('GNR-AP-2S');
    expect(await platformOf(cpuinfo('GenuineIntel', 6, 0xad, 4, 86, 2))).toBe('GNR-SP-4S');
    expect(await platformOf(cpuinfo('GenuineIntel', 6, 0xaf, 2, 144, 1))).toBe('SRF-SP-2S');
    expect(await platformOf(cpuinfo('GenuineIntel', 6, 0xaf, 2, 288, 1))).toBe('SRF-AP-2S');
    const unknown = await probe({ cpuinfo: cpuinfo('GenuineIntel', 6, 0x55, 2, 28, 2) });
    expect(unknown.report.host.platform).toBeNull();
    expect(unknown.notes).toContain('platform unknown: GenuineIntel family 6 model 85 (0x55) is not a CPU platform tdplan knows; pass --platform NAME');
    expect((await probe({ cpuinfo: cpuinfo('GenuineIntel', 6, 0x55, 2, 28, 2) }, 'CLX-2S')).report.host.platform).toBe('CLX-2S');
  });
});

describe('tdplan probe on hosts where TDX failed: every failure line of tdx.c', () => {
  it.each([
    [
      'kvm_intel: Disable TDX: MAX_VCPU_PER_TD (576) smaller than number of logical CPUs (688).',
      { kind: 'MAX_VCPU_PER_TD_SMALLER', maxVcpusPerTd: 576, logicalCpus: 688 },
    ],
    ['virt/tdx: frame pointer (RBP) clobber bug present, upgrade TDX module', { kind: 'RBP_CLOBBER_BUG' }],
    ['virt/tdx: module initialization failed (-22)', { kind: 'MODULE_INIT_FAILED' }],
    ['kvm_intel: Cannot enable TDX: no TDX private KeyIDs available', { kind: 'NO_PRIVATE_KEYIDS' }],
  ])('%s', async (line, failure) => {
    const { report } = await probe({ kernelLog: withFailure(line) });
    expect(report.observed.initialized).toBe(false);
    expect(report.observed.moduleVersion).toBe('1.5.06.00.0744');
    expect(report.observed.failures).toEqual([{ ...failure, line }]);
    expect(formatProbeText(report)).toContain(`TDX failed: ${line.replace(/^(virt\/tdx|kvm_intel): /, '')}`);
  });
});

describe('tdplan probe on a host without TDX', () => {
  it('says TDX is not available, with 0 KeyIDs and kvm_intel.tdx N where the files are absent', async () => {
    const { root, kernelLog } = await fixture({
      miscCapacity: null,
      kvmIntelTdx: null,
      kernelLog: '[    0.000000] Linux version 6.8.0-45-generic\n[    3.1] kvm_intel: VMX supported\n',
    });
    const out = await tdplan(['probe', '--root', root, '--kernel-log', kernelLog]);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^guest KeyIDs\s+0$/m);
    expect(out.stdout).toMatch(/^kvm_intel.tdx\s+N$/m);
    expect(out.stdout).toContain('TDX is not available on this host: the kernel log shows no TDX module; kvm_intel.tdx is N; no guest KeyIDs');
    expect(out.stderr).toContain('misc.capacity does not exist');
  });

  it('reads a misc.capacity without a tdx line as 0 KeyIDs, and kvm_intel.tdx=N as false', async () => {
    const { report } = await probe({ miscCapacity: 'sev 0\nsev_es 0\n', kvmIntelTdx: 'N\n' });
    expect(report.host).toMatchObject({ guestKeyIds: 0, kvmIntelTdx: false });
  });
});

describe('tdplan probe refuses malformed files with a clear error naming the file', () => {
  it.each([
    ['/sys/devices/system/cpu/present', '0-abc\n', /present: not a CPU range list: "0-abc" \(bad part "0-abc"\)$/],
    ['/sys/devices/system/cpu/present', '8-3\n', /present: not a CPU range list: "8-3"/],
    ['/proc/meminfo', 'MemFree: 12 kB\n', /meminfo: no "MemTotal: <n> kB" line$/],
    ['/sys/fs/cgroup/misc.capacity', 'tdx sixty-four\n', /misc\.capacity: expected "<resource> <count>" lines, got "tdx sixty-four"$/],
    ['/sys/module/kvm_intel/parameters/tdx', 'maybe\n', /parameters\/tdx: expected Y or N, got "maybe"$/],
    ['/boot/config-6.16.0-tdx', 'CONFIG_KVM_MAX_NR_VCPUS=lots\n', /config-6\.16\.0-tdx: CONFIG_KVM_MAX_NR_VCPUS is not a positive number: "lots"$/],
    ['/proc/cpuinfo', 'processor\t: 0\nvendor_id\t: GenuineIntel\n', /cpuinfo: "cpu cores" is missing or not a number/],
    ['/proc/sys/kernel/hostname', '\n', /hostname: expected one line with a host name, got "\\n"$/],
  ])('%s', async (file, text, message) => {
    const { root, kernelLog } = await fixture({ override: { [file]: text } });
    const refused = await runProbe({ root, kernelLog }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(CliError);
    const line = (refused as CliError).message;
    expect(line.startsWith(`${path.join(root, file)}: `)).toBe(true);
    expect(line).toMatch(message);
    expect(line).not.toContain('\n');
  });

  it('as one line on stderr and exit 1 from the command', async () => {
    const { root, kernelLog } = await fixture({ override: { '/sys/devices/system/cpu/present': '0-abc\n' } });
    const out = await tdplan(['probe', '--root', root, '--kernel-log', kernelLog]);
    expect(out).toEqual({
      code: 1,
      stdout: '',
      stderr: `tdplan: ${path.join(root, 'sys/devices/system/cpu/present')}: not a CPU range list: "0-abc" (bad part "0-abc")\n`,
    });
  });

  it('names a missing file the probe cannot do without, and an unreadable kernel log', async () => {
    const { root, kernelLog } = await fixture({ override: {} });
    await rm(path.join(root, 'proc/meminfo'));
    const out = await tdplan(['probe', '--root', root, '--kernel-log', kernelLog]);
    expect(out).toMatchObject({ code: 1, stderr: `tdplan: cannot read ${path.join(root, 'proc/meminfo')} (the memory size): no such file\n` });
    const other = await fixture();
    await expect(runProbe({ root: other.root, kernelLog: path.join(other.root, 'nope.log') })).rejects.toThrow(
      `cannot read ${path.join(other.root, 'nope.log')} (the kernel log): no such file`,
    );
  });
});

describe("tdplan probe on this machine's real /", () => {
  it('reads the real host and says there is no TDX here (this machine has none), without crashing', async () => {
    const out = await tdplan(['probe', '--json']);
    if (out.code !== 0) {
      // dmesg may be refused to unprivileged users (kernel.dmesg_restrict): that must be said clearly.
      expect(out.stderr).toMatch(/^tdplan: cannot read the kernel log: .*--kernel-log FILE\n$/);
      return;
    }
    const report = JSON.parse(out.stdout) as { host: Record<string, unknown>; observed: { initialized: boolean } };
    expect(report.host.presentCpus).toBeGreaterThan(0);
    expect(report.host.memoryMiB).toBeGreaterThan(0);
    expect(report.host).toMatchObject({ module: null, guestKeyIds: 0, kvmIntelTdx: false });
    expect(report.observed.initialized).toBe(false);
    const text = await tdplan(['probe']);
    expect(text.stdout).toContain('TDX is not available on this host');
  });

  it('says clearly when dmesg is not permitted', async () => {
    const bin = await mkdtemp(path.join(tmpdir(), 'tdplan-dmesg-'));
    roots.push(bin);
    // What util-linux's dmesg prints under kernel.dmesg_restrict=1 for a user without CAP_SYSLOG.
    await writeFile(path.join(bin, 'dmesg'), '#!/bin/sh\necho "dmesg: read kernel buffer failed: Operation not permitted" >&2\nexit 1\n');
    await chmod(path.join(bin, 'dmesg'), 0o755);
    const { root } = await fixture();
    const out = await tdplan(['probe', '--root', root], { PATH: `${bin}:${process.env.PATH}` });
    expect(out.code).toBe(1);
    expect(out.stderr).toBe(
      'tdplan: cannot read the kernel log: dmesg is not permitted for this user (dmesg: read kernel buffer failed: Operation not permitted); ' +
        'run the probe as root, or allow it with sysctl kernel.dmesg_restrict=0; or pass the log with --kernel-log FILE\n',
    );
  });
});

it('parses the fixture cpuinfo as the EMR-2S shape', () => {
  expect(EMR_2S_CPUINFO.split('processor\t:').length - 1).toBe(256);
});
