// The audit trail (who, when, what, before and after, written by the change's own transaction) and
// optimistic concurrency (generations; a stale write is refused and changes nothing).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFleet } from '../../src/inventory/demo-fleet.js';
import { importDocument } from '../support/import.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testClient, type TestClient } from '../support/server.js';

let db: TestDatabase;
let admin: TestClient;
let planner: TestClient;

beforeAll(async () => {
  db = await createTestDatabase();
  expect(await importDocument(db, demoFleet(), 'REPLACE')).toMatchObject({ ok: true });
  admin = testClient(db, 'ADMIN');
  planner = testClient(db, 'PLANNER', admin.yoga);
  await admin.authHeaders();
  await planner.authHeaders(); // their tokens (and TOKEN_CREATE events) exist before any test counts events
});
afterAll(async () => {
  await db.destroy();
});

interface AuditEvent {
  sequence: number;
  at: string;
  actor: string;
  action: string;
  entityType: string;
  entityKey: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

async function events(filter: string): Promise<{ totalCount: number; events: AuditEvent[] }> {
  const res = await admin.gql<{ auditEvents: { totalCount: number; edges: { node: AuditEvent }[] } }>(
    `{ auditEvents(first: 50, filter: ${filter}) { totalCount edges { node { sequence at actor action entityType entityKey before after } } } }`,
  );
  expect(res.errors).toBeUndefined();
  return { totalCount: res.data!.auditEvents.totalCount, events: res.data!.auditEvents.edges.map((e) => e.node) };
}

async function auditCount(): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_event');
  return rows[0]!.n;
}

describe('audit trail', () => {
  it('records create, update and delete with who, when, before and after (references by natural key), newest first', async () => {
    const started = Date.now();
    const create = await admin.gql(
      'mutation { createHost(input: { hostname: "audit-h1", platform: { name: "SPR-2S" }, kernel: { name: "linux-6.16" }, presentCpus: 64, guestKeyIds: 8 }) { __typename } }',
    );
    expect(create.errors).toBeUndefined();
    await admin.gql(
      'mutation { updateHost(host: { hostname: "audit-h1" }, input: { presentCpus: 96, module: { version: "1.5.06.00.0744" } }) { __typename } }',
    );
    await admin.gql('mutation { deleteHost(host: { hostname: "audit-h1" }) { __typename } }');

    const { totalCount, events: trail } = await events('{ entityType: "Host", entityKey: "audit-h1" }');
    expect(totalCount).toBe(3);
    expect(trail.map((e) => e.action)).toEqual(['DELETE', 'UPDATE', 'CREATE']);
    expect(trail.every((e) => e.actor === admin.tokenName)).toBe(true);
    expect(trail.every((e) => Date.parse(e.at) >= started - 1000 && Date.parse(e.at) <= Date.now() + 1000)).toBe(true);
    expect(trail[0]!.sequence).toBeGreaterThan(trail[1]!.sequence);
    const [deleted, updated, created] = trail;
    expect(created!.before).toBeNull();
    expect(created!.after).toEqual({
      hostname: 'audit-h1',
      platform: 'SPR-2S',
      module: null,
      kernel: 'linux-6.16',
      presentCpus: 64,
      guestKeyIds: 8,
      allocationRatio: 1,
      generation: 1,
    });
    expect(updated!.before).toEqual(created!.after);
    expect(updated!.after).toMatchObject({ presentCpus: 96, module: '1.5.06.00.0744', generation: 2 });
    expect(deleted!.before).toEqual(updated!.after);
    expect(deleted!.after).toBeNull();
  });

  it('a refused change writes no audit event; a placement is recorded as the planner who made it', async () => {
    const before = await auditCount();
    const invalid = await admin.gql('mutation { updateHost(host: { hostname: "spr-a01" }, input: { presentCpus: -1 }) { __typename } }');
    expect(invalid.data).toEqual({ updateHost: { __typename: 'ValidationError' } });
    const refused = await planner.gql('mutation { placeTd(td: { name: "td-planned-02" }, host: { hostname: "emr-a01" }) { __typename } }');
    expect(refused.data).toEqual({ placeTd: { __typename: 'PlacementRefused' } });
    const forbidden = await planner.gql('mutation { deleteTd(td: { name: "td-web-01" }) { __typename } }');
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await auditCount()).toBe(before);

    const placed = await planner.gql('mutation { placeTd(td: { name: "td-planned-01" }, host: { hostname: "spr-a01" }) { __typename } }');
    expect(placed.data).toEqual({ placeTd: { __typename: 'MutationPlaceTdSuccess' } });
    const { events: trail } = await events('{ entityKey: "td-planned-01" }');
    expect(trail[0]).toMatchObject({ action: 'PLACE', actor: planner.tokenName, entityType: 'Td', before: { host: null }, after: { host: 'spr-a01' } });
  });

  it('records an import as one event with its counts and document hash, and the trail is append-only', async () => {
    const doc = { platforms: [{ name: 'AUDIT-1S', sockets: 1, coresPerSocket: 8, threadsPerCore: 2 }], modules: [], kernels: [], hosts: [], tds: [] };
    const res = await admin.gql('mutation($d: JSONObject!) { importInventory(document: $d, mode: MERGE) { __typename } }', { d: doc });
    expect(res.errors).toBeUndefined();
    const { events: trail } = await events('{ action: IMPORT }');
    expect(trail[0]).toMatchObject({ actor: admin.tokenName, entityType: 'Inventory', entityKey: 'MERGE', before: null });
    expect(trail[0]!.after).toMatchObject({
      counts: { platforms: { created: 1, updated: 0, deleted: 0 } },
      documentSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    await expect(db.pool.query('UPDATE audit_event SET actor = $1', ['someone-else'])).rejects.toThrow(/append-only/);
    await expect(db.pool.query('DELETE FROM audit_event')).rejects.toThrow(/append-only/);
  });

  it('pages through the trail with cursors', async () => {
    const first = await admin.gql<{
      auditEvents: { edges: { cursor: string; node: { sequence: number } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } };
    }>('{ auditEvents(first: 2) { edges { cursor node { sequence } } pageInfo { hasNextPage endCursor } } }');
    const page1 = first.data!.auditEvents;
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const second = await admin.gql<{ auditEvents: { edges: { node: { sequence: number } }[] } }>(
      `{ auditEvents(first: 2, after: "${page1.pageInfo.endCursor}") { edges { node { sequence } } } }`,
    );
    const sequences = [...page1.edges, ...second.data!.auditEvents.edges].map((e) => e.node.sequence);
    expect(sequences).toEqual([...sequences].sort((a, b) => b - a));
    expect(new Set(sequences).size).toBe(4);
  });
});

describe('optimistic concurrency', () => {
  async function kernelGeneration(): Promise<number> {
    const res = await admin.gql<{ kernel: { generation: number; kvmMaxVcpus: number } }>('{ kernel(name: "linux-6.16") { generation kvmMaxVcpus } }');
    return res.data!.kernel.generation;
  }

  it('an update at the expected generation bumps it; a stale one is refused with both numbers and changes nothing', async () => {
    const generation = await kernelGeneration();
    const ok = await admin.gql<{ updateKernel: { __typename: string; data?: { generation: number } } }>(
      `mutation { updateKernel(kernel: { name: "linux-6.16" }, input: { kvmMaxVcpus: 2048, expectedGeneration: ${generation} }) {
        __typename ... on MutationUpdateKernelSuccess { data { generation } } } }`,
    );
    expect(ok.data!.updateKernel).toEqual({ __typename: 'MutationUpdateKernelSuccess', data: { generation: generation + 1 } });
    const audit = await auditCount();
    const stale = await admin.gql<{ updateKernel: Record<string, unknown> }>(
      `mutation { updateKernel(kernel: { name: "linux-6.16" }, input: { kvmMaxVcpus: 1024, expectedGeneration: ${generation} }) {
        __typename ... on StaleGenerationError { message entity key expectedGeneration currentGeneration } } }`,
    );
    expect(stale.data!.updateKernel).toMatchObject({
      __typename: 'StaleGenerationError',
      entity: 'Kernel',
      key: 'linux-6.16',
      expectedGeneration: generation,
      currentGeneration: generation + 1,
    });
    const after = await admin.gql<{ kernel: { kvmMaxVcpus: number; generation: number } }>('{ kernel(name: "linux-6.16") { kvmMaxVcpus generation } }');
    expect(after.data!.kernel).toEqual({ kvmMaxVcpus: 2048, generation: generation + 1 });
    expect(await auditCount()).toBe(audit);
  });

  it('of concurrent writers that read the same generation, exactly one wins', async () => {
    const host = await admin.gql<{ host: { generation: number } }>('{ host(hostname: "spr-a02") { generation } }');
    const generation = host.data!.host.generation;
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        admin.gql<{ updateHost: { __typename: string } }>(
          `mutation { updateHost(host: { hostname: "spr-a02" }, input: { allocationRatio: ${1 + i / 10}, expectedGeneration: ${generation} }) { __typename } }`,
        ),
      ),
    );
    const kinds = outcomes.map((o) => o.data?.updateHost.__typename);
    expect(kinds.filter((k) => k === 'MutationUpdateHostSuccess')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'StaleGenerationError')).toHaveLength(7);
    const after = await admin.gql<{ host: { generation: number } }>('{ host(hostname: "spr-a02") { generation } }');
    expect(after.data!.host.generation).toBe(generation + 1);
  });

  it("placements, migrations and merge imports move a TD's generation too", async () => {
    const read = async (): Promise<number> => (await admin.gql<{ td: { generation: number } }>('{ td(name: "td-web-03") { generation } }')).data!.td.generation;
    const g0 = await read();
    const moved = await planner.gql('mutation { migrateTd(td: { name: "td-web-03" }, targetHost: { hostname: "gnr-b02" }) { __typename } }');
    expect(moved.data).toEqual({ migrateTd: { __typename: 'MutationMigrateTdSuccess' } });
    expect(await read()).toBe(g0 + 1);
    const doc = { platforms: [], modules: [], kernels: [], hosts: [], tds: [{ name: 'td-web-03', vcpus: 9, host: 'gnr-b02', migratable: true }] };
    expect(await importDocument(db, doc, 'MERGE')).toMatchObject({ ok: true });
    expect(await read()).toBe(g0 + 2);
    expect(await importDocument(db, doc, 'MERGE')).toMatchObject({ ok: true, counts: { tds: { updated: 0 } } });
    expect(await read()).toBe(g0 + 2); // unchanged rows keep their generation
  });
});
