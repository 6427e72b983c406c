// The exports for schedulers, validated against the consumers' own schemas (vendored in
// test/fixtures/schemas), and checked against the API's own answers for every host (R1, R3).
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { exportText } from '../../src/cli/export.js';
import { demoFleet } from '../../src/inventory/demo-fleet.js';
import { importDocument } from '../support/import.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testClient, type TestClient } from '../support/server.js';

const SCHEMAS = path.resolve(import.meta.dirname, '../fixtures/schemas');
const BIN = path.resolve(import.meta.dirname, '../../bin/tdplan.js');

let db: TestDatabase;
let client: TestClient;

interface ApiHost {
  hostname: string;
  guestKeyIds: number;
  tdxEnabled: boolean;
  kvmCapMaxVcpus: number | null;
  tdxDisabledReasons: { code: string }[];
  kvmLoads: boolean;
  module: { version: string } | null;
  kernel: { kvmMaxVcpus: number };
}
let apiHosts: ApiHost[];

beforeAll(async () => {
  db = await createTestDatabase();
  client = testClient(db);
  const imported = await importDocument(db, demoFleet(), 'REPLACE');
  expect(imported.ok).toBe(true);
  const res = await client.gql<{ hosts: { edges: { node: ApiHost }[] } }>(
    '{ hosts(first: 100) { edges { node { hostname guestKeyIds tdxEnabled kvmCapMaxVcpus tdxDisabledReasons { code } kvmLoads module { version } kernel { kvmMaxVcpus } } } } }',
  );
  expect(res.errors).toBeUndefined();
  apiHosts = res.data!.hosts.edges.map((e) => e.node);
  expect(apiHosts.length).toBe(demoFleet().hosts.length);
});
afterAll(async () => {
  await db?.destroy();
});

// Kubernetes label syntax (k8s.io/apimachinery validation: qualified name and label value).
const LABEL_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
function expectValidLabels(labels: Record<string, string>): void {
  for (const [name, value] of Object.entries(labels)) {
    expect(name).toMatch(LABEL_NAME);
    expect(name.split('/')[1]!.length).toBeLessThanOrEqual(63);
    expect(value).toMatch(LABEL_VALUE);
    expect(value.length).toBeLessThanOrEqual(63);
  }
}

describe('tdplan export --format nova-provider-config', () => {
  it("is valid against Nova's own provider config schema 1.0, with custom traits and resource classes only", async () => {
    const schema = JSON.parse(await readFile(path.join(SCHEMAS, 'nova-provider-config-v1.schema.json'), 'utf8')) as object;
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    const config = parseYaml(await exportText(db, 'nova-provider-config', undefined)) as {
      meta: { schema_version: string };
      providers: { identification: { name: string }; traits?: { additional: string[] }; inventories?: { additional: Record<string, unknown>[] } }[];
    };
    expect(validate(config), JSON.stringify(validate.errors)).toBe(true);
    expect(config.meta.schema_version).toBe('1.0');
    // Nova's checks after the schema (provider_config.py _validate_provider_config): custom names only,
    // no provider named twice, and every provider says something (else Nova ignores it).
    for (const p of config.providers) {
      for (const trait of p.traits?.additional ?? []) expect(trait).toMatch(/^CUSTOM_[A-Z0-9_]+$/);
      for (const inventory of p.inventories?.additional ?? []) for (const rc of Object.keys(inventory)) expect(rc).toMatch(/^CUSTOM_[A-Z0-9_]+$/);
      expect((p.traits?.additional.length ?? 0) + (p.inventories?.additional.length ?? 0)).toBeGreaterThan(0);
    }
    expect(new Set(config.providers.map((p) => p.identification.name)).size).toBe(config.providers.length);

    // A schema check that cannot fail would prove nothing: a trait Nova's pattern refuses is refused.
    const broken = structuredClone(config);
    broken.providers[0]!.traits!.additional.push('custom-lowercase');
    expect(validate(broken)).toBe(false);
  });

  it("gives every host the traits and KeyID inventory the API's answers imply (R1, R3)", async () => {
    const config = parseYaml(await exportText(db, 'nova-provider-config', undefined)) as {
      providers: { identification: { name: string }; traits: { additional: string[] }; inventories?: { additional: Record<string, { total: number }>[] } }[];
    };
    const byName = new Map(config.providers.map((p) => [p.identification.name, p]));
    expect([...byName.keys()].sort()).toEqual(apiHosts.map((h) => h.hostname).sort());
    for (const host of apiHosts) {
      const p = byName.get(host.hostname)!;
      const traits = new Set(p.traits.additional);
      expect(traits.has('CUSTOM_TDX_ENABLED')).toBe(host.tdxEnabled);
      expect(traits.has('CUSTOM_KVM_LOADS')).toBe(host.kvmLoads);
      expect(traits.has('CUSTOM_TDX_DISABLED')).toBe(!host.tdxEnabled);
      const steps = [...traits].filter((t) => t.startsWith('CUSTOM_TDX_MAX_VCPUS_')).map((t) => Number(t.slice('CUSTOM_TDX_MAX_VCPUS_'.length)));
      if (host.tdxEnabled) {
        // Every power-of-two TD size up to the cap, and none above it.
        expect(Math.max(...steps)).toBeLessThanOrEqual(host.kvmCapMaxVcpus!);
        expect(Math.max(...steps) * 2).toBeGreaterThan(host.kvmCapMaxVcpus!);
        expect(steps.length).toBe(Math.floor(Math.log2(host.kvmCapMaxVcpus!)) + 1);
        expect(p.inventories!.additional).toEqual([
          { CUSTOM_TDX_KEYID: { total: host.guestKeyIds, reserved: 0, min_unit: 1, max_unit: 1, step_size: 1, allocation_ratio: 1 } },
        ]);
      } else {
        expect(steps).toEqual([]);
        expect(p.inventories).toBeUndefined();
        for (const r of host.tdxDisabledReasons) expect(traits.has(`CUSTOM_TDX_DISABLED_${r.code}`)).toBe(true);
      }
      if (host.module) expect(traits.has(`CUSTOM_TDX_MODULE_${host.module.version.replace(/\./g, '_')}`)).toBe(true);
    }
    // Spot checks by hand: spr-a01 (224 CPUs) takes a 128-vCPU flavor, not a 256 one; gnr-b01 (576 < 688) none.
    expect(byName.get('spr-a01')!.traits.additional).toContain('CUSTOM_TDX_MAX_VCPUS_128');
    expect(byName.get('spr-a01')!.traits.additional).not.toContain('CUSTOM_TDX_MAX_VCPUS_256');
    expect(byName.get('gnr-b01')!.traits.additional).toContain('CUSTOM_TDX_DISABLED_MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS');
  });

  it('with --host, only that host', async () => {
    const config = parseYaml(await exportText(db, 'nova-provider-config', 'emr-a03')) as {
      providers: { identification: { name: string }; traits: { additional: string[] } }[];
    };
    expect(config.providers.map((p) => p.identification.name)).toEqual(['emr-a03']);
    expect(config.providers[0]!.traits.additional).toContain('CUSTOM_TDX_MAX_VCPUS_1024'); // MODULE_LIMIT: cap 1024
  });
});

describe('tdplan export --format nfd', () => {
  it("writes a NodeFeatureRule valid against NFD's CRD schema, labelling every node with the API's answers", async () => {
    const crd = parseYaml(await readFile(path.join(SCHEMAS, 'nfd-nodefeaturerule-crd-v0.19.0.yaml'), 'utf8')) as {
      spec: { group: string; names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: object } }[] };
    };
    const version = crd.spec.versions.find((v) => v.name === 'v1alpha1')!;
    const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(version.schema.openAPIV3Schema);
    const rule = parseYaml(await exportText(db, 'nfd', undefined)) as {
      apiVersion: string;
      kind: string;
      spec: {
        rules: { labels: Record<string, string>; matchFeatures: { feature: string; matchExpressions: { nodename: { op: string; value: string[] } } }[] }[];
      };
    };
    expect(validate(rule), JSON.stringify(validate.errors)).toBe(true);
    expect(rule.apiVersion).toBe(`${crd.spec.group}/v1alpha1`);
    expect(rule.kind).toBe(crd.spec.names.kind);
    const broken = structuredClone(rule) as { spec: { rules: { matchFeatures: { matchExpressions: { nodename: { op: string } } }[] }[] } };
    broken.spec.rules[0]!.matchFeatures[0]!.matchExpressions.nodename.op = 'Like';
    expect(validate(broken)).toBe(false);

    const labelsOf = new Map<string, Record<string, string>>();
    for (const r of rule.spec.rules) {
      expectValidLabels(r.labels);
      expect(r.matchFeatures).toHaveLength(1);
      expect(r.matchFeatures[0]!.feature).toBe('system.name');
      for (const node of r.matchFeatures[0]!.matchExpressions.nodename.value) {
        expect(labelsOf.has(node)).toBe(false); // each node in exactly one rule
        labelsOf.set(node, r.labels);
      }
    }
    expect([...labelsOf.keys()].sort()).toEqual(apiHosts.map((h) => h.hostname).sort());
    for (const host of apiHosts) {
      const labels = labelsOf.get(host.hostname)!;
      expect(labels['tdplan.feature.node.kubernetes.io/tdx-enabled']).toBe(String(host.tdxEnabled));
      expect(labels['tdplan.feature.node.kubernetes.io/kvm-loads']).toBe(String(host.kvmLoads));
      expect(labels['tdplan.feature.node.kubernetes.io/kvm-cap-max-vcpus']).toBe(host.kvmCapMaxVcpus === null ? undefined : String(host.kvmCapMaxVcpus));
      expect(labels['tdplan.feature.node.kubernetes.io/kvm-max-vcpus']).toBe(String(host.kernel.kvmMaxVcpus));
      expect(labels['tdplan.feature.node.kubernetes.io/tdx-module']).toBe(host.module?.version);
      const reasons = Object.keys(labels)
        .filter((l) => l.includes('/tdx-disabled.'))
        .map((l) => l.split('/tdx-disabled.')[1]);
      expect(reasons).toEqual(host.tdxDisabledReasons.map((r) => r.code));
    }
  });

  it("with --host, writes that node's local feature file: label=value lines, the same labels as the rule", async () => {
    const file = await exportText(db, 'nfd', 'gnr-b02');
    expect(Buffer.byteLength(file)).toBeLessThan(64 * 1024); // nfd-worker ignores larger files
    const lines = file.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    const labels = Object.fromEntries(lines.map((l) => l.split('=') as [string, string]));
    expect(lines.every((l) => /^[^=\s]+=[^=\s]*$/.test(l))).toBe(true);
    expectValidLabels(labels);
    expect(labels).toEqual({
      'tdplan.feature.node.kubernetes.io/tdx-enabled': 'true',
      'tdplan.feature.node.kubernetes.io/kvm-loads': 'true',
      'tdplan.feature.node.kubernetes.io/kvm-max-vcpus': '4096',
      'tdplan.feature.node.kubernetes.io/kvm-cap-max-vcpus': '688',
      'tdplan.feature.node.kubernetes.io/tdx-module': '2.0.02.00.0420',
      'tdplan.feature.node.kubernetes.io/tdx-guest-keyids': '128',
    });
    const rule = parseYaml(await exportText(db, 'nfd', undefined)) as {
      spec: { rules: { labels: Record<string, string>; matchFeatures: { matchExpressions: { nodename: { value: string[] } } }[] }[] };
    };
    expect(rule.spec.rules.find((r) => r.matchFeatures[0]!.matchExpressions.nodename.value.includes('gnr-b02'))!.labels).toEqual(labels);
  });
});

describe('tdplan export on the command line', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tdplan-export-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const tdplan = async (args: string[]) => {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, '--data-dir', path.join(dir, 'data'), ...args], { env });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  it("writes a host's feature file, and names an unknown host or format", { timeout: 180_000 }, async () => {
    expect((await tdplan(['seed'])).code).toBe(0);
    const file = await tdplan(['export', '--format', 'nfd', '--host', 'srf-a01']);
    expect(file.code).toBe(0);
    expect(file.stdout).toContain('tdplan.feature.node.kubernetes.io/tdx-disabled.NO_GUEST_KEYIDS=true\n');
    expect(await tdplan(['export', '--format', 'nfd', '--host', 'nope'])).toMatchObject({ code: 1, stderr: 'tdplan: --host: no host named "nope"\n' });
    const bad = await tdplan(['export', '--format', 'csv']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('must be one of inventory, nova-provider-config, nfd');
  });
});

it('the default export is still the inventory document', async () => {
  const document = JSON.parse(await exportText(db, 'inventory', undefined)) as { hosts: unknown[] };
  expect(document.hosts).toHaveLength(demoFleet().hosts.length);
});
