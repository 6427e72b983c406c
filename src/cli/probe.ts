// `tdplan probe`: reads this host's TDX facts (src/probe/read.ts) and prints them, as text or as
// the JSON document the inventory and the drift check take. No database.
import { Command, Option } from 'commander';
import { CliError } from '../cli-error.js';
import { applyProbe, checkDrift, ProbeApiError } from '../probe/api-client.js';
import { MalformedFileError } from '../probe/parse.js';
import type { KernelLogObservations } from '../probe/report.js';
import { ProbeReadError, probeHost, type ProbeReport, type ProbeResult } from '../probe/read.js';

export interface ProbeCommandOptions {
  root: string;
  kernelLog?: string;
  platform?: string;
  json?: boolean;
  apply?: string;
  check?: string;
  token?: string;
}

/** Runs the probe; file problems become one-line CLI errors naming the file. */
export async function runProbe(opts: ProbeCommandOptions): Promise<ProbeResult> {
  try {
    return await probeHost({ root: opts.root, kernelLog: opts.kernelLog, platform: opts.platform });
  } catch (err) {
    if (err instanceof MalformedFileError || err instanceof ProbeReadError) throw new CliError(err.message);
    throw err;
  }
}

/** What the kernel log says about TDX on this host, in one sentence. */
export function tdxStatusSentence(report: ProbeReport): string {
  const o: KernelLogObservations = report.observed;
  if (o.failures.length > 0) return `TDX failed: ${o.failures.map((f) => f.line.replace(/^.*?(virt\/tdx|kvm_intel|tdx): /, '')).join('; ')}`;
  if (o.initialized)
    return report.host.kvmIntelTdx ? 'TDX module initialized; kvm_intel.tdx=Y' : 'TDX module initialized, but kvm_intel.tdx is N: KVM does not offer TDX';
  const why = [
    o.moduleVersion === null ? 'the kernel log shows no TDX module' : `the kernel log shows module ${o.moduleVersion} but no "module initialized"`,
    report.host.kvmIntelTdx ? null : 'kvm_intel.tdx is N',
    report.host.guestKeyIds === 0 ? 'no guest KeyIDs (misc.capacity has no tdx line)' : null,
  ].filter((s): s is string => s !== null);
  return `TDX is not available on this host: ${why.join('; ')}`;
}

export function formatProbeText(report: ProbeReport): string {
  const h = report.host;
  const o = report.observed;
  const rows: [string, string][] = [
    ['hostname', h.hostname],
    ['platform', h.platform ?? '(unknown: pass --platform NAME)'],
    ['kernel', `${h.kernel} (KVM_MAX_VCPUS ${report.kernel.kvmMaxVcpus})`],
    ['present CPUs', String(h.presentCpus)],
    ['memory', `${h.memoryMiB} MiB`],
    ['guest KeyIDs', String(h.guestKeyIds)],
    ['kvm_intel.tdx', h.kvmIntelTdx ? 'Y' : 'N'],
    ['TDX module', h.module ?? 'none in the kernel log'],
    ['PAMT', o.pamtKiB === null ? '-' : `${o.pamtKiB} KiB`],
    ['private KeyIDs', o.privateKeyIdRange === null ? '-' : `[${o.privateKeyIdRange.start}, ${o.privateKeyIdRange.end})`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n\n${tdxStatusSentence(report)}`;
}

async function api<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ProbeApiError) throw new CliError(err.message);
    throw err;
  }
}

export function registerProbeCommand(program: Command): void {
  program
    .command('probe')
    .description("read this host's TDX facts from /proc, /sys, /boot and the kernel log (no database); optionally apply them or check them for drift")
    .option('--root <dir>', 'read every path under this directory instead of /', '/')
    .option('--kernel-log <file>', 'read the kernel log from this file (default: run dmesg)')
    .option('--platform <name>', "the host's platform name (default: matched from /proc/cpuinfo)")
    .option('--json', 'print {"host", "kernel", "observed"} as JSON')
    .option('--apply <url>', 'upsert the host through the GraphQL API at this URL (an ADMIN token)')
    .option('--check <url>', 'compare the host with the plan through the GraphQL API at this URL (a PLANNER token); exit 1 when it contradicts the plan')
    .addOption(new Option('--token <token>', 'API token for --apply and --check').env('TDPLAN_TOKEN'))
    .addHelpText(
      'after',
      `
Examples:
  sudo tdplan probe                                  what this host reports
  tdplan probe --root /mnt/host --kernel-log boot.log --json
  tdplan probe --check http://tdplan:4000/graphql --token "$TOKEN"`,
    )
    .action(async (opts: ProbeCommandOptions) => {
      if ((opts.apply || opts.check) && !opts.token) throw new CliError('--apply and --check need an API token: --token T (or TDPLAN_TOKEN)', 2);
      const { report, notes } = await runProbe(opts);
      for (const note of notes) console.error(`tdplan probe: ${note}`);
      console.log(opts.json ? JSON.stringify(report, null, 2) : formatProbeText(report));
      // With --json, standard output stays one JSON document; what the API said goes to stderr.
      const say = opts.json ? console.error : console.log;
      if (opts.apply) {
        const applied = await api(() => applyProbe(opts.apply!, opts.token!, report));
        const what = applied.hostCreated ? 'created' : applied.hostChanged ? 'updated' : 'already up to date';
        say(
          `tdplan probe: host ${report.host.hostname} ${what}${applied.kernelCreated ? `; kernel ${report.kernel.name} created with mainline behaviour` : ''}`,
        );
      }
      if (opts.check) {
        const checked = await api(() => checkDrift(opts.check!, opts.token!, report));
        if (!checked.drift) {
          say(`tdplan probe: no drift: ${report.host.hostname} is as tdplan records and predicts`);
          return;
        }
        const n = checked.differences.length;
        say(`tdplan probe: DRIFT on ${report.host.hostname}: ${n} difference${n === 1 ? '' : 's'}`);
        for (const d of checked.differences) say(`  ${d.field}: predicted ${d.predicted}, observed ${d.observed}: ${d.message}`);
        throw new CliError(`${report.host.hostname} contradicts the plan (${checked.differences.map((d) => d.field).join(', ')})`);
      }
    });
}
