// Placement and migration through the HTTP API (R5, R6): checks list every blocker, refusals
// change nothing, and concurrent placements never overfill a host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFleet } from '../../src/inventory/demo-fleet.js';
import { exportInventory } from '../../src/inventory/export.js';
import { importDocument } from '../support/import.js';
import { createTdplanYoga, listen, type RunningServer } from '../../src/server.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testClient, type TestClient } from '../support/server.js';

let db: TestDatabase;
let client: TestClient;

beforeAll(async () => {
  db = await createTestDatabase();
  client = testClient(db);
  expect(await importDocument(db, demoFleet(), 'REPLACE')).toMatchObject({ ok: true });
});
afterAll(async () => {
  await db.destroy();
});

interface Check {
  compatible: boolean;
  blockers: { code: string; message: string }[];
}

async function check(field: string, td: string, args: string): Promise<Check> {
  const res = await client.gql<{ td: Record<string, Check> }>(`{ td(name: "${td}") { ${field}(${args}) { compatible blockers { code message } } } }`);
  expect(res.errors).toBeUndefined();
  return res.data!.td[field]!;
}

describe('checks', () => {
  it('R6: migrationCheck lists every blocker at once, with numbers', async () => {
    // td-ml-01 (192 vCPUs, not migratable) from emr-a01 to gnr-b01, where TDX is disabled (576 < 688)
    const result = await check('migrationCheck', 'td-ml-01', 'targetHostname: "gnr-b01"');
    expect(result.compatible).toBe(false);
    expect(result.blockers.map((b) => b.code)).toEqual(['NOT_MIGRATABLE', 'TDX_DISABLED']);
    expect(result.blockers[1]!.message).toContain('MAX_VCPUS_PER_TD 576 < 688 present CPUs');
  });

  it('R6: a module pair without a common migration version is refused', async () => {
    // emr-a01 runs 1.5.06 (exports 1-2); gnr-b02 runs 2.0 (imports 1-3, 48 vCPUs free): compatible
    expect(await check('migrationCheck', 'td-web-03', 'targetHostname: "gnr-b02"')).toEqual({ compatible: true, blockers: [] });
    // gnr-a01 is full: its 512-vCPU TD leaves nothing
    expect((await check('migrationCheck', 'td-web-03', 'targetHostname: "gnr-a01"')).blockers.map((b) => b.code)).toEqual(['INSUFFICIENT_VCPUS']);
    // spr-a01 (1.5.06) to spr-a03 (1.5.00, no migration, no TOPOLOGY_ENUM): TDX disabled and unsupported
    expect((await check('migrationCheck', 'td-web-01', 'targetHostname: "spr-a03"')).blockers.map((b) => b.code)).toEqual([
      'TDX_DISABLED',
      'MIGRATION_UNSUPPORTED',
    ]);
  });

  it('R6: the target can be named by global ID; SAME_HOST is a blocker', async () => {
    const id = (await client.gql<{ host: { id: string } }>('{ host(hostname: "spr-a01") { id } }')).data!.host.id;
    const result = await check('migrationCheck', 'td-web-01', `targetHostId: "${id}"`);
    expect(result.blockers.map((b) => b.code)).toContain('SAME_HOST');
  });

  it('R5: placementCheck of a planned TD lists every failing condition', async () => {
    // td-planned-02 wants 600 vCPUs and 1 TiB; emr-a01 has cap 256 and 256 schedulable, 232 allocated,
    // and 1 TiB of RAM of which 720 GiB are already taken by TDs (R7)
    const result = await check('placementCheck', 'td-planned-02', 'hostname: "emr-a01"');
    expect(result.blockers.map((b) => b.code)).toEqual(['VCPUS_EXCEED_KVM_CAP', 'INSUFFICIENT_VCPUS', 'INSUFFICIENT_MEMORY']);
    expect(result.blockers[0]!.message).toContain('600');
  });

  it('asks for exactly one of hostname and ID', async () => {
    const res = await client.gql('{ td(name: "td-planned-01") { placementCheck { compatible } } }');
    expect(res.errors?.[0]?.message).toBeDefined();
  });
});

describe('placeTd and migrateTd', () => {
  const RESULT = `__typename ... on PlacementRefused { message blockers { code message } } ... on Error { message }`;

  it('R5: refuses with the same blockers as the check and changes nothing', async () => {
    const before = await exportInventory(db);
    const res = await client.gql<{ placeTd: { __typename: string; blockers: { code: string }[] } }>(
      `mutation { placeTd(td: { name: "td-planned-02" }, host: { hostname: "emr-a01" }) { ${RESULT} } }`,
    );
    expect(res.data!.placeTd.__typename).toBe('PlacementRefused');
    expect(res.data!.placeTd.blockers.map((b) => b.code)).toEqual(['VCPUS_EXCEED_KVM_CAP', 'INSUFFICIENT_VCPUS', 'INSUFFICIENT_MEMORY']);
    expect(await exportInventory(db)).toEqual(before);
  });

  it('R5: places a planned TD where it fits', async () => {
    const res = await client.gql<{ placeTd: { __typename: string; data?: { host: { hostname: string } } } }>(
      `mutation { placeTd(td: { name: "td-planned-01" }, host: { hostname: "spr-a01" }) { ${RESULT} ... on MutationPlaceTdSuccess { data { host { hostname } } } } }`,
    );
    expect(res.data!.placeTd).toEqual({ __typename: 'MutationPlaceTdSuccess', data: { host: { hostname: 'spr-a01' } } });
  });

  it('R6: migrates a placed TD, and refuses a TD that is not migratable', async () => {
    const ok = await client.gql<{ migrateTd: { __typename: string } }>(
      `mutation { migrateTd(td: { name: "td-web-03" }, targetHost: { hostname: "gnr-b02" }) { ${RESULT} } }`,
    );
    expect(ok.data!.migrateTd.__typename).toBe('MutationMigrateTdSuccess');
    const before = await exportInventory(db);
    const refused = await client.gql<{ migrateTd: { __typename: string; blockers: { code: string }[] } }>(
      `mutation { migrateTd(td: { name: "td-hpc-01" }, targetHost: { hostname: "gnr-b02" }) { ${RESULT} } }`,
    );
    // 512 vCPUs and 1 TiB do not fit in gnr-b02's 40 free vCPUs and ~450 GiB free either: every reason is listed
    expect(refused.data!.migrateTd.blockers.map((b) => b.code)).toEqual(['NOT_MIGRATABLE', 'INSUFFICIENT_VCPUS', 'INSUFFICIENT_MEMORY']);
    expect(await exportInventory(db)).toEqual(before);
  });

  it('refuses to place a TD that is already placed, or migrate a planned one', async () => {
    const a = await client.gql<{ placeTd: { __typename: string } }>(
      `mutation { placeTd(td: { name: "td-web-01" }, host: { hostname: "gnr-a01" }) { ${RESULT} } }`,
    );
    expect(a.data!.placeTd.__typename).toBe('ValidationError');
    const b = await client.gql<{ migrateTd: { __typename: string } }>(
      `mutation { migrateTd(td: { name: "td-planned-03" }, targetHost: { hostname: "gnr-a01" }) { ${RESULT} } }`,
    );
    expect(b.data!.migrateTd.__typename).toBe('ValidationError');
  });
});

describe('concurrency', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await listen(createTdplanYoga(db), '127.0.0.1', 0);
  });
  afterAll(async () => {
    await server.close();
  });

  it('R5/R7: concurrent placements onto one host never use more KeyIDs, vCPUs or memory than it has', async () => {
    const doc = {
      platforms: [{ name: 'TINY', sockets: 1, coresPerSocket: 32, threadsPerCore: 2 }],
      modules: [{ version: '9.0', maxVcpusPerTd: 1024, features: ['NO_RBP_MOD', 'TOPOLOGY_ENUM'], platforms: ['TINY'] }],
      kernels: [{ name: 'race', kvmMaxVcpus: 1024, tdxVcpuPolicy: 'PRESENT_CPUS' }],
      hosts: [
        { hostname: 'race-keys', platform: 'TINY', module: '9.0', kernel: 'race', presentCpus: 64, guestKeyIds: 5 },
        { hostname: 'race-cpus', platform: 'TINY', module: '9.0', kernel: 'race', presentCpus: 64, guestKeyIds: 100 },
        // 8192 MiB less 32 MiB of PAMT: 8 TDs of 1000 MiB (1,028,052 KiB each with their control pages), not 9.
        { hostname: 'race-mem', platform: 'TINY', module: '9.0', kernel: 'race', presentCpus: 64, guestKeyIds: 100, memoryMiB: 8192 },
      ],
      tds: [
        ...Array.from({ length: 60 }, (_, i) => ({ name: `race-${i}`, vcpus: 6, host: null })),
        ...Array.from({ length: 30 }, (_, i) => ({ name: `race-mem-${i}`, vcpus: 1, memoryMiB: 1000, host: null })),
      ],
    };
    expect(await importDocument(db, doc, 'MERGE')).toMatchObject({ ok: true });
    // A planner's token: placing is what planners may do.
    const planner = testClient(db, 'PLANNER');
    const auth = await planner.authHeaders();
    const place = async (td: string, host: string): Promise<string> => {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({
          query: `mutation($td: String!, $host: String!) { placeTd(td: { name: $td }, host: { hostname: $host }) { __typename } }`,
          variables: { td, host },
        }),
      });
      const body = (await response.json()) as { data?: { placeTd: { __typename: string } }; errors?: unknown };
      expect(body.errors).toBeUndefined();
      return body.data!.placeTd.__typename;
    };
    // 30 TDs race for 5 KeyIDs on one host, 30 others for 64 vCPUs (10 TDs of 6) on the other.
    const outcomes = await Promise.all(doc.tds.slice(0, 60).map((td, i) => place(td.name, i < 30 ? 'race-keys' : 'race-cpus')));
    // Then 30 of 1000 MiB race for the 8 that fit in memory on a third (a round of its own: the pool has its limits).
    outcomes.push(...(await Promise.all(doc.tds.slice(60).map((td) => place(td.name, 'race-mem')))));
    const { rows } = await db.pool.query<{ hostname: string; tds: number; vcpus: number }>(
      `SELECT h.hostname, count(t.id)::int AS tds, COALESCE(sum(t.vcpus), 0)::int AS vcpus, h.td_count AS kept_tds, h.allocated_vcpus AS kept_vcpus
       FROM host h LEFT JOIN td t ON t.host_id = h.id WHERE h.hostname LIKE 'race-%' GROUP BY h.id ORDER BY h.hostname`,
    );
    // The counts the rules read (kept by triggers) agree with the TDs themselves.
    expect(rows).toEqual([
      { hostname: 'race-cpus', tds: 10, vcpus: 60, kept_tds: 10, kept_vcpus: 60 },
      { hostname: 'race-keys', tds: 5, vcpus: 30, kept_tds: 5, kept_vcpus: 30 },
      { hostname: 'race-mem', tds: 8, vcpus: 8, kept_tds: 8, kept_vcpus: 8 },
    ]);
    const memory = await db.pool.query<{ known_memory_td_mib: number; excess_memory_mib: number }>(
      `SELECT h.known_memory_td_mib, c.excess_memory_mib FROM host h JOIN host_capacity c ON c.host_id = h.id WHERE h.hostname = 'race-mem'`,
    );
    expect(memory.rows).toEqual([{ known_memory_td_mib: 8000, excess_memory_mib: 0 }]);
    expect(outcomes.filter((o) => o === 'MutationPlaceTdSuccess')).toHaveLength(23);
    expect(outcomes.filter((o) => o === 'PlacementRefused')).toHaveLength(67);
  });
});
