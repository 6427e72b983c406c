// tdplan probe --apply and --check against a real server on a port (the demo fleet), and the
// checkHostDrift comparison for each kind of difference: the inventory's facts, and the rules'
// predictions (R1 TDX enabled and its reason, KVM loading, R7 PAMT within 1%).
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { demoFleet } from '../../src/inventory/demo-fleet.js';
import { importDocument } from '../support/import.js';
import { probeHost, type ProbeReport } from '../../src/probe/read.js';
import { createTdplanYoga, listen, type RunningServer } from '../../src/server.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testClient, tokenFor, type TestClient } from '../support/server.js';
import { cpuinfo, HEALTHY_LOG, writeFixtureHost, type FixtureHost } from './fixture-host.js';

// These tests run the tdplan command as a process (a few seconds each on a busy 2-core machine).
vi.setConfig({ testTimeout: 120_000 });
const BIN = path.resolve(import.meta.dirname, '../../bin/tdplan.js');
let db: TestDatabase;
let server: RunningServer;
let admin: TestClient;
let planner: TestClient;
let adminToken: string;
let plannerToken: string;
const roots: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  expect(await importDocument(db, demoFleet(), 'REPLACE')).toMatchObject({ ok: true });
  const yoga = createTdplanYoga(db);
  server = await listen(yoga, '127.0.0.1', 0);
  admin = testClient(db, 'ADMIN', yoga);
  planner = testClient(db, 'PLANNER', yoga);
  adminToken = await tokenFor(db, 'ADMIN');
  plannerToken = await tokenFor(db, 'PLANNER');
});
afterAll(async () => {
  await server?.close();
  await db?.destroy();
  await Promise.all(roots.map((r) => rm(r, { recursive: true, force: true })));
});

async function fixture(spec: FixtureHost = {}): Promise<{ root: string; kernelLog: string }> {
  const made = await writeFixtureHost(spec);
  roots.push(made.root);
  return made;
}

async function tdplan(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.TDPLAN_TOKEN;
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Every inventory table and the audit trail, as PostgreSQL prints them. */
async function snapshot(tables = ['platform', 'tdx_module', 'module_platform', 'kernel', 'host', 'td', 'audit_event']): Promise<string> {
  const parts = await Promise.all(
    tables.map((t) => db.pool.query<{ rows: string }>(`SELECT string_agg(x::text, E'\\n' ORDER BY x::text) AS rows FROM ${t} x`)),
  );
  return parts.map((p, i) => `${tables[i]}:\n${p.rows[0]?.rows ?? ''}`).join('\n');
}

interface Check {
  drift: boolean;
  differences: { field: string; predicted: string; observed: string; message: string }[];
}
async function check(report: ProbeReport, client = planner): Promise<Check> {
  const res = await client.gql<{ checkHostDrift: { __typename: string; data?: Check; message?: string } }>(
    'mutation($probe: HostProbeInput!) { checkHostDrift(probe: $probe) { __typename ... on MutationCheckHostDriftSuccess { data { drift differences { field predicted observed message } } } ... on Error { message } } }',
    { probe: report },
  );
  expect(res.errors).toBeUndefined();
  expect(res.data!.checkHostDrift.__typename).toBe('MutationCheckHostDriftSuccess');
  return res.data!.checkHostDrift.data!;
}

async function reportOf(spec: FixtureHost, platform?: string): Promise<ProbeReport> {
  const { root, kernelLog } = await fixture(spec);
  return (await probeHost({ root, kernelLog, platform })).report;
}

// gnr-b01 of the demo fleet: GNR-SP-4S, module 1.5.10.00.0820 (MAX_VCPUS_PER_TD 576), linux-6.16 (mainline:
// FAIL_KVM_LOAD), 688 CPUs, 2 TiB. R1 v2: MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS with effect KVM_LOAD_FAILS.
const TIB_KIB = 1024 * 1024 * 1024;
const GNR_B01_AS_PLANNED: FixtureHost = {
  hostname: 'gnr-b01',
  release: 'linux-6.16',
  present: '0-687',
  cpuinfo: cpuinfo('GenuineIntel', 6, 0xad, 4, 86, 2),
  kernelConfig: 'CONFIG_KVM_MAX_NR_VCPUS=4096\n',
  memTotalKiB: 2 * TIB_KIB,
  kvmIntelTdx: null, // kvm_intel did not load: no /sys/module/kvm_intel
  kernelLog: [
    '[   11.2] virt/tdx: BIOS enabled: private KeyID range [32, 97)',
    '[   11.3] virt/tdx: Initializing TDX module: 1.5.10.00.0820 (build_date 20240910, Production module).',
    '[   12.6] kvm_intel: Disable TDX: MAX_VCPU_PER_TD (576) smaller than number of logical CPUs (688).',
    '',
  ].join('\n'),
};
// The same host where TDX came up and kvm_intel loaded: PAMT 8 GiB for 2 TiB (R7).
const GNR_B01: FixtureHost = {
  ...GNR_B01_AS_PLANNED,
  kvmIntelTdx: 'Y\n',
  kernelLog: HEALTHY_LOG.replace('1.5.06.00.0744', '1.5.10.00.0820').replace(/\d+ KB allocated for PAMT/, '8388608 KB allocated for PAMT'),
};

describe('tdplan probe --apply', () => {
  it('creates the host and its unknown kernel (mainline policy), then finds nothing to change', async () => {
    const { root, kernelLog } = await fixture();
    const before = await snapshot(['platform', 'tdx_module', 'module_platform', 'td']);
    const out = await tdplan(['probe', '--root', root, '--kernel-log', kernelLog, '--apply', server.url, '--token', adminToken]);
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('tdplan probe: host emr-p01 created; kernel 6.16.0-tdx created with mainline behaviour');
    const read = await admin.gql<{ host: unknown; kernel: unknown }>(
      '{ host(hostname: "emr-p01") { platform { name } module { version } kernel { name } presentCpus guestKeyIds allocationRatio kvmIntelTdx memoryMiB tdxEnabled kvmLoads kvmCapMaxVcpus } kernel(name: "6.16.0-tdx") { kvmMaxVcpus tdxVcpuPolicy tdxInitFailure moduleMetadata } }',
    );
    expect(read.data).toEqual({
      host: {
        platform: { name: 'EMR-2S' },
        module: { version: '1.5.06.00.0744' },
        kernel: { name: '6.16.0-tdx' },
        presentCpus: 256,
        guestKeyIds: 64,
        allocationRatio: 1,
        kvmIntelTdx: true,
        memoryMiB: 257763,
        tdxEnabled: true,
        kvmLoads: true,
        kvmCapMaxVcpus: 256,
      },
      kernel: { kvmMaxVcpus: 4096, tdxVcpuPolicy: 'PRESENT_CPUS', tdxInitFailure: 'FAIL_KVM_LOAD', moduleMetadata: 'STRICT' },
    });
    // Nothing else changed, and the two writes are in the audit trail under the token's name.
    expect(await snapshot(['platform', 'tdx_module', 'module_platform', 'td'])).toBe(before);
    const { rows } = await db.pool.query<{ entity_type: string; action: string }>(
      "SELECT entity_type, action::text FROM audit_event WHERE entity_key IN ('emr-p01', '6.16.0-tdx') ORDER BY id",
    );
    expect(rows).toEqual([
      { entity_type: 'Kernel', action: 'CREATE' },
      { entity_type: 'Host', action: 'CREATE' },
    ]);

    const unchanged = await snapshot();
    const again = await tdplan(['probe', '--root', root, '--kernel-log', kernelLog, '--json', '--apply', server.url, '--token', adminToken]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ host: { hostname: 'emr-p01' } }); // --json: stdout stays the document
    expect(again.stderr).toContain('tdplan probe: host emr-p01 already up to date');
    expect(await snapshot()).toBe(unchanged);
  });

  it('refuses an unknown module version, naming it, and writes nothing (not even the kernel)', async () => {
    const { root, kernelLog } = await fixture({
      hostname: 'emr-p02',
      release: '6.17.0-new',
      kernelLog: HEALTHY_LOG.replace(/Initializing TDX module: .*$/m, 'TDX module version: 1.5.24'),
    });
    const before = await snapshot();
    const out = await tdplan(['probe', '--root', root, '--kernel-log', kernelLog, '--apply', server.url, '--token', adminToken]);
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(
      'tdplan: applyHostProbe refused (ValidationError): host.module: unknown TDX module version "1.5.24": add it to the inventory first',
    );
    expect(await snapshot()).toBe(before);
  });

  it('names a module by the short version of other kernels when exactly one module has it', async () => {
    const created = await admin.gql(
      'mutation { createModule(input: { version: "1.5.24.00.0999", maxVcpusPerTd: 576, features: [TOPOLOGY_ENUM, NO_RBP_MOD], supportedPlatforms: [{ name: "EMR-2S" }] }) { __typename } }',
    );
    expect(created.data).toEqual({ createModule: { __typename: 'MutationCreateModuleSuccess' } });
    const report = await reportOf({ hostname: 'emr-p03', kernelLog: HEALTHY_LOG.replace(/Initializing TDX module: .*$/m, 'TDX module version: 1.5.24') });
    const res = await admin.gql<{ applyHostProbe: { data: { module: string; host: { module: { version: string } } } } }>(
      'mutation($probe: HostProbeInput!) { applyHostProbe(probe: $probe) { ... on MutationApplyHostProbeSuccess { data { module host { module { version } } } } } }',
      { probe: report },
    );
    expect(res.data!.applyHostProbe.data).toEqual({ module: '1.5.24.00.0999', host: { module: { version: '1.5.24.00.0999' } } });
    // ... and the drift check agrees that the short form names it.
    expect(await check(report)).toEqual({ drift: false, differences: [] });
  });

  it('needs an ADMIN token: a planner is refused and nothing changes', async () => {
    const before = await snapshot();
    const res = await planner.gql('mutation($probe: HostProbeInput!) { applyHostProbe(probe: $probe) { __typename } }', {
      probe: await reportOf({ hostname: 'emr-p04' }),
    });
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await snapshot()).toBe(before);
  });
});

describe('tdplan probe --check (drift)', () => {
  it('passes a host that is as planned, and fails one that contradicts the plan, printing every difference', async () => {
    const planned = await fixture(GNR_B01_AS_PLANNED);
    const ok = await tdplan(['probe', '--root', planned.root, '--kernel-log', planned.kernelLog, '--check', server.url, '--token', plannerToken]);
    expect(ok.stderr).not.toMatch(/^tdplan: /m); // only notes: kvm_intel is not loaded, as R1 v2 predicts
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('tdplan probe: no drift: gnr-b01 is as tdplan records and predicts');

    // The same host whose kernel log says TDX came up: R1 predicts it off (576 < 688).
    const up = await fixture(GNR_B01);
    const drift = await tdplan(['probe', '--root', up.root, '--kernel-log', up.kernelLog, '--check', server.url, '--token', plannerToken]);
    expect(drift.code).toBe(1);
    expect(drift.stdout).toContain('tdplan probe: DRIFT on gnr-b01: 2 differences');
    expect(drift.stdout).toContain(
      '  TDX_ENABLED: predicted false, observed true: the rules predict TDX disabled (MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS), the host has it',
    );
    expect(drift.stdout).toContain('  KVM_LOADS: predicted false, observed true: the rules predict kvm_intel fails to load, on the host it is loaded');
    expect(drift.stderr).toBe('tdplan: gnr-b01 contradicts the plan (TDX_ENABLED, KVM_LOADS)\n');

    // The server kept the last observation: hosts(filter: { drift }) lists the host.
    const listed = await planner.gql<{ drifting: { edges: { node: { hostname: string; lastObservation: { drift: boolean; observedBy: string } } }[] } }>(
      '{ drifting: hosts(filter: { drift: true }) { edges { node { hostname lastObservation { drift observedBy differences { field } } } } } }',
    );
    expect(listed.data!.drifting.edges.map((e) => e.node.hostname)).toEqual(['gnr-b01']);
    expect(listed.data!.drifting.edges[0]!.node.lastObservation).toMatchObject({
      drift: true,
      differences: [{ field: 'TDX_ENABLED' }, { field: 'KVM_LOADS' }],
    });

    // A later check that agrees replaces it.
    expect(await check(await reportOf(GNR_B01_AS_PLANNED))).toEqual({ drift: false, differences: [] });
    const after = await planner.gql<{ drifting: { totalCount: number }; agreeing: { edges: { node: { hostname: string } }[] } }>(
      '{ drifting: hosts(filter: { drift: true }) { totalCount } agreeing: hosts(filter: { drift: false }) { edges { node { hostname } } } }',
    );
    expect(after.data!.drifting.totalCount).toBe(0);
    expect(after.data!.agreeing.edges.map((e) => e.node.hostname)).toContain('gnr-b01');
  });

  it('says which host is unknown, and refuses a viewer', async () => {
    const { root, kernelLog } = await fixture({ hostname: 'nowhere-01' });
    const out = await tdplan(['probe', '--root', root, '--kernel-log', kernelLog, '--check', server.url, '--token', plannerToken]);
    expect(out).toMatchObject({ code: 1, stderr: 'tdplan: checkHostDrift refused (NotFoundError): Host "nowhere-01" does not exist\n' });
    const viewer = testClient(db, 'VIEWER', admin.yoga);
    const res = await viewer.gql('mutation($probe: HostProbeInput!) { checkHostDrift(probe: $probe) { __typename } }', { probe: await reportOf(GNR_B01) });
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const noToken = await tdplan(['probe', '--root', root, '--kernel-log', kernelLog, '--check', server.url]);
    expect(noToken).toMatchObject({ code: 2, stderr: 'tdplan: --apply and --check need an API token: --token T (or TDPLAN_TOKEN)\n' });
  });

  // emr-a01 of the demo fleet: EMR-2S, 1.5.06.00.0744, linux-6.16, 256 CPUs, 64 KeyIDs, 1 TiB: TDX enabled (R1),
  // PAMT 4 GiB (R7).
  const EMR_A01_LOG = HEALTHY_LOG.replace(/\d+ KB allocated for PAMT/, '4194304 KB allocated for PAMT');
  const EMR_A01: FixtureHost = {
    hostname: 'emr-a01',
    release: 'linux-6.16',
    kernelConfig: 'CONFIG_KVM_MAX_NR_VCPUS=4096\n',
    memTotalKiB: TIB_KIB,
    kernelLog: EMR_A01_LOG,
  };

  it('emr-a01 as planned: no drift', async () => {
    expect(await check(await reportOf(EMR_A01))).toEqual({ drift: false, differences: [] });
  });

  it('R1: a failure line the rules do not predict is a TDX_ENABLED and a TDX_DISABLED_REASON difference', async () => {
    const result = await check(
      await reportOf({
        ...EMR_A01,
        kernelLog: EMR_A01_LOG.replace(/^.*module initialized\n/m, '') + '[   12.7] kvm_intel: Cannot enable TDX: no TDX private KeyIDs available\n',
      }),
    );
    expect(result.drift).toBe(true);
    expect(result.differences.map((d) => [d.field, d.predicted, d.observed])).toEqual([
      ['TDX_ENABLED', 'true', 'false'],
      ['TDX_DISABLED_REASON', 'none', 'NO_GUEST_KEYIDS'],
    ]);
  });

  it('R1: kvm_intel.tdx=Y and no module in the log is NO_MODULE: drift where the inventory has one', async () => {
    const result = await check(await reportOf({ ...EMR_A01, kernelLog: '[    0.0] Linux version 6.16\n' }));
    expect(result.differences.map((d) => d.field)).toEqual(['MODULE', 'TDX_ENABLED', 'TDX_DISABLED_REASON']);
    expect(result.differences[2]).toMatchObject({ predicted: 'none', observed: 'NO_MODULE' });
  });

  it('KVM: kvm_intel not loaded where the rules predict it loads is a KVM_LOADS difference', async () => {
    const result = await check(await reportOf({ ...EMR_A01, kvmIntelTdx: null, kernelLog: '[    0.0] Linux version 6.16\n' }));
    expect(result.differences.map((d) => d.field)).toEqual(['MODULE', 'TDX_ENABLED', 'KVM_LOADS']);
  });

  it('R7: PAMT within 1% of ceil(memoryMiB / 256) agrees; further off is a PAMT difference', async () => {
    // 1048576 MiB: R7 predicts 4096 MiB = 4194304 KiB; 1% is 41943.04 KiB.
    const pamt = (kib: number) => HEALTHY_LOG.replace(/\d+ KB allocated for PAMT/, `${kib} KB allocated for PAMT`);
    expect(await check(await reportOf({ ...EMR_A01, kernelLog: pamt(4194304 + 41943) }))).toEqual({ drift: false, differences: [] });
    const off = await check(await reportOf({ ...EMR_A01, kernelLog: pamt(4194304 + 41944) }));
    expect(off.differences).toEqual([
      {
        field: 'PAMT',
        predicted: '4194304 KiB',
        observed: '4236248 KiB',
        message: 'PAMT is 4236248 KiB, 1.0% off the 4194304 KiB R7 predicts for 1048576 MiB (tolerance 1%)',
      },
    ]);
  });

  it('R1 v2: kvm_intel.tdx=N where the inventory says Y is drift of the fact, and TDX_NOT_REQUESTED an unpredicted reason', async () => {
    const result = await check(await reportOf({ ...EMR_A01, kvmIntelTdx: 'N\n', memTotalKiB: TIB_KIB / 2 }));
    expect(result.differences.map((d) => [d.field, d.predicted, d.observed])).toEqual([
      ['KVM_INTEL_TDX', 'Y', 'N'],
      ['MEMORY', '1048576 MiB', '524288 MiB'],
      ['TDX_ENABLED', 'true', 'false'],
      ['TDX_DISABLED_REASON', 'none', 'TDX_NOT_REQUESTED'],
    ]);
  });

  it("the inventory's facts: platform, kernel's KVM_MAX_VCPUS, present CPUs and KeyIDs that differ are drift", async () => {
    const result = await check(
      await reportOf(
        { ...EMR_A01, present: '0-191', miscCapacity: 'tdx 32\n', kernelConfig: '# CONFIG_MAXSMP is not set\n' },
        'SPR-2S', // --platform
      ),
    );
    expect(result.differences.map((d) => [d.field, d.predicted, d.observed])).toEqual([
      ['PLATFORM', 'EMR-2S', 'SPR-2S'],
      ['KVM_MAX_VCPUS', '4096', '1024'],
      ['PRESENT_CPUS', '256', '192'],
      ['GUEST_KEY_IDS', '64', '32'],
    ]);
  });
});
