// Scenarios (issue 18): shared proposals of N2 changes, discussed, decided and applied, through the
// real HTTP handler on a real database. The demo fleet's 2.0 module (2.0.02.00.0420, 2048) is the
// module team's case: promising only MAX_VCPUS_PER_TD 600 disables TDX on gnr-b02 (688 present
// CPUs, R1 under PRESENT_CPUS) and lowers emr-a03's cap (MODULE_LIMIT kernel, R3) to 600.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { demoFleet } from '../../src/inventory/demo-fleet.js';
import { importDocument } from '../support/import.js';
import { scenarioReport } from '../../src/report.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testClient, type GraphQLResponse, type TestClient } from '../support/server.js';

let db: TestDatabase;
let admin: TestClient;
let planner: TestClient;
let viewer: TestClient;

beforeAll(async () => {
  db = await createTestDatabase();
  admin = testClient(db, 'ADMIN');
  planner = testClient(db, 'PLANNER', admin.yoga);
  viewer = testClient(db, 'VIEWER', admin.yoga);
  for (const c of [admin, planner, viewer]) await c.authHeaders();
});
afterAll(async () => {
  await db.destroy();
});
beforeEach(async () => {
  expect(await importDocument(db, demoFleet(), 'REPLACE')).toMatchObject({ ok: true });
});

const MODULE_2_0 = '2.0.02.00.0420';
const PROPOSAL_600 = { modules: [{ module: { version: MODULE_2_0 }, maxVcpusPerTd: 600 }] };

function ok<T>(res: GraphQLResponse<T>): T {
  expect(res.errors).toBeUndefined();
  return res.data!;
}

const LISTS = 'totalCount edges { node { hostname } }';
const TD_LISTS = 'totalCount edges { node { name } }';
const CAPACITY = 'tdxEnabledHosts tdSlots schedulableVcpus freeVcpus';
const IMPACT = `{ hostsLosingTdx { ${LISTS} } hostsGainingTdx { ${LISTS} } hostsWithNewCap { totalCount edges { node { hostname kvmCapMaxVcpusBefore kvmCapMaxVcpusAfter } } }
  tdsNoLongerFitting { ${TD_LISTS} } tdsLeftWithoutMigrationTarget { ${TD_LISTS} } capacityBefore { ${CAPACITY} } capacityAfter { ${CAPACITY} } capacityDelta { ${CAPACITY} } }`;
const SCENARIO = `id number title description author status createdAt updatedAt decidedBy decisionNote appliedBy appliedAt changes
  changeProblems { field message } impact ${IMPACT} impactWhenCreated ${IMPACT}
  impactDrift { list kind countWhenCreated countNow entered left }
  comments(first: 50) { totalCount edges { node { author body createdAt } } }`;

interface Impact {
  hostsLosingTdx: { totalCount: number; edges: { node: { hostname: string } }[] };
  hostsGainingTdx: { totalCount: number; edges: { node: { hostname: string } }[] };
  hostsWithNewCap: { totalCount: number; edges: { node: { hostname: string; kvmCapMaxVcpusBefore: number; kvmCapMaxVcpusAfter: number } }[] };
  tdsNoLongerFitting: { totalCount: number; edges: { node: { name: string } }[] };
  tdsLeftWithoutMigrationTarget: { totalCount: number; edges: { node: { name: string } }[] };
  capacityDelta: Record<string, number>;
}
interface Drift {
  list: string;
  kind: string;
  countWhenCreated: number;
  countNow: number;
  entered: string[];
  left: string[];
}
interface Scenario {
  id: string;
  number: number;
  title: string;
  description: string;
  author: string;
  status: string;
  createdAt: string;
  updatedAt: string;
  decidedBy: string | null;
  decisionNote: string | null;
  appliedBy: string | null;
  appliedAt: string | null;
  changes: Record<string, unknown>;
  changeProblems: { field: string; message: string }[];
  impact: Impact | null;
  impactWhenCreated: Impact;
  impactDrift: Drift[] | null;
  comments: { totalCount: number; edges: { node: { author: string; body: string; createdAt: string } }[] };
}

const names = (c: { edges: { node: { hostname?: string; name?: string } }[] }): string[] => c.edges.map((e) => e.node.hostname ?? e.node.name ?? '').sort();

async function create(client: TestClient, input: Record<string, unknown>): Promise<GraphQLResponse<{ createScenario: Record<string, unknown> }>> {
  return client.gql(
    `mutation($input: CreateScenarioInput!) { createScenario(input: $input) { __typename
      ... on MutationCreateScenarioSuccess { data { ${SCENARIO} } }
      ... on ValidationError { problems { field message } } } }`,
    { input },
  );
}

async function created(input: Record<string, unknown>, client: TestClient = planner): Promise<Scenario> {
  const res = ok(await create(client, input));
  expect(res.createScenario.__typename).toBe('MutationCreateScenarioSuccess');
  return (res.createScenario as { data: Scenario }).data;
}

async function read(id: string, client: TestClient = viewer): Promise<Scenario> {
  return ok(await client.gql<{ node: Scenario }>(`query($id: ID!) { node(id: $id) { ... on Scenario { ${SCENARIO} } } }`, { id })).node;
}

async function decide(id: string, status: 'ACCEPTED' | 'REJECTED', note?: string): Promise<Record<string, unknown>> {
  return ok(
    await admin.gql<{ decideScenario: Record<string, unknown> }>(
      `mutation($id: ID!, $status: ScenarioDecision!, $note: String) { decideScenario(scenario: { id: $id }, status: $status, note: $note) { __typename
        ... on MutationDecideScenarioSuccess { data { status decidedBy decisionNote } }
        ... on Error { message } ... on ValidationError { problems { field message } } } }`,
      { id, status, note },
    ),
  ).decideScenario;
}

async function apply(id: string): Promise<Record<string, unknown>> {
  return ok(
    await admin.gql<{ applyScenario: Record<string, unknown> }>(
      `mutation($id: ID!) { applyScenario(scenario: { id: $id }) { __typename
        ... on MutationApplyScenarioSuccess { data { status appliedBy } }
        ... on ScenarioApplyRefused { message reasons { code field message } } ... on Error { message } } }`,
      { id },
    ),
  ).applyScenario;
}

async function comment(client: TestClient, id: string, body: string): Promise<GraphQLResponse<{ commentOnScenario: Record<string, unknown> }>> {
  return client.gql(
    `mutation($id: ID!, $body: String!) { commentOnScenario(scenario: { id: $id }, body: $body) { __typename
      ... on MutationCommentOnScenarioSuccess { data { author body } } ... on Error { message } } }`,
    { id, body },
  );
}

async function liveWhatIf(changes: Record<string, unknown>): Promise<Impact> {
  return ok(await planner.gql<{ whatIf: Impact }>(`query($c: WhatIfChanges!) { whatIf(changes: $c) ${IMPACT} }`, { c: changes })).whatIf;
}

/** Every inventory table and the scenario tables, as PostgreSQL prints them: equal strings mean nothing was written. */
async function snapshot(): Promise<string> {
  const tables = ['platform', 'tdx_module', 'module_platform', 'kernel', 'host', 'td', 'scenario', 'scenario_comment', 'audit_event'];
  const parts = await Promise.all(
    tables.map((t) => db.pool.query<{ rows: string }>(`SELECT string_agg(x::text, E'\\n' ORDER BY x::text) AS rows FROM ${t} x`)),
  );
  return parts.map((p, i) => `${tables[i]}:\n${p.rows[0]?.rows ?? ''}`).join('\n');
}

async function auditOf(id: string): Promise<{ action: string; entityType: string; entityKey: string; actor: string; after: Record<string, unknown> | null }[]> {
  const res = ok(
    await admin.gql<{
      auditEvents: { edges: { node: { action: string; entityType: string; entityKey: string; actor: string; after: Record<string, unknown> | null } }[] };
    }>(`query($id: ID!) { auditEvents(first: 50, filter: { scenario: { id: $id } }) { edges { node { action entityType entityKey actor after } } } }`, { id }),
  );
  return res.auditEvents.edges.map((e) => e.node).reverse(); // oldest first
}

describe('the life of a scenario', () => {
  it('N2: proposed, discussed, accepted and applied: the module reports 600, every step audited and linked to the scenario', async () => {
    const s = await created({ title: 'MAX_VCPUS_PER_TD 600 for 2.0.02', description: 'The module team can promise 600.', changes: PROPOSAL_600 });
    expect(s).toMatchObject({
      title: 'MAX_VCPUS_PER_TD 600 for 2.0.02',
      description: 'The module team can promise 600.',
      author: planner.tokenName,
      status: 'OPEN',
      decidedBy: null,
      appliedAt: null,
      changeProblems: [],
      changes: { modules: [{ module: { version: MODULE_2_0 }, maxVcpusPerTd: 600 }], kernels: [], hostMoves: [], hosts: [] },
    });
    // The impact is whatIf's answer, computed by hand here: R1 disables gnr-b02 (600 < 688) and its
    // two TDs lose their fit; R3 under MODULE_LIMIT caps emr-a03 at min(1024, 600).
    expect(s.impact).toEqual(await liveWhatIf(PROPOSAL_600));
    expect(s.impactWhenCreated).toEqual(s.impact);
    expect(names(s.impact!.hostsLosingTdx)).toEqual(['gnr-b02']);
    expect(names(s.impact!.tdsNoLongerFitting)).toEqual(['td-analytics-01', 'td-analytics-02']);
    expect(s.impact!.hostsWithNewCap.edges.map((e) => e.node)).toEqual([{ hostname: 'emr-a03', kvmCapMaxVcpusBefore: 1024, kvmCapMaxVcpusAfter: 600 }]);
    expect(s.impact!.capacityDelta).toMatchObject({ tdxEnabledHosts: -1, schedulableVcpus: -688 });
    expect(s.impactDrift!.every((d) => d.entered.length === 0 && d.left.length === 0)).toBe(true);

    expect(ok(await comment(planner, s.id, 'gnr-b02 runs analytics: 600 is too low for us.')).commentOnScenario.__typename).toBe(
      'MutationCommentOnScenarioSuccess',
    );
    expect(ok(await comment(admin, s.id, 'We can move analytics first.')).commentOnScenario.__typename).toBe('MutationCommentOnScenarioSuccess');
    expect(await decide(s.id, 'ACCEPTED', 'after the analytics move')).toEqual({
      __typename: 'MutationDecideScenarioSuccess',
      data: { status: 'ACCEPTED', decidedBy: admin.tokenName, decisionNote: 'after the analytics move' },
    });
    expect(await apply(s.id)).toEqual({ __typename: 'MutationApplyScenarioSuccess', data: { status: 'APPLIED', appliedBy: admin.tokenName } });

    const module = ok(
      await viewer.gql<{ module: { maxVcpusPerTd: number; generation: number } }>(`{ module(version: "${MODULE_2_0}") { maxVcpusPerTd generation } }`),
    );
    expect(module.module).toEqual({ maxVcpusPerTd: 600, generation: 2 });
    const host = ok(await viewer.gql<{ host: { tdxEnabled: boolean } }>('{ host(hostname: "gnr-b02") { tdxEnabled } }'));
    expect(host.host.tdxEnabled).toBe(false);

    const after = await read(s.id);
    expect(after.status).toBe('APPLIED');
    expect(after.appliedBy).toBe(admin.tokenName);
    // Frozen: the impact it was applied with, although the same changes now change nothing.
    expect(after.impact).toEqual(s.impact);
    expect((await liveWhatIf(PROPOSAL_600)).hostsLosingTdx.totalCount).toBe(0);
    expect(after.comments.edges.map((e) => [e.node.author, e.node.body])).toEqual([
      [planner.tokenName, 'gnr-b02 runs analytics: 600 is too low for us.'],
      [admin.tokenName, 'We can move analytics first.'],
    ]);
    expect(after.updatedAt >= after.createdAt).toBe(true);

    const trail = await auditOf(s.id);
    expect(trail.map((e) => [e.action, e.entityType, e.actor])).toEqual([
      ['CREATE', 'Scenario', planner.tokenName],
      ['COMMENT', 'Scenario', planner.tokenName],
      ['COMMENT', 'Scenario', admin.tokenName],
      ['DECIDE', 'Scenario', admin.tokenName],
      ['UPDATE', 'TdxModule', admin.tokenName],
      ['APPLY', 'Scenario', admin.tokenName],
    ]);
    expect(trail[4]).toMatchObject({ entityKey: MODULE_2_0, after: { maxVcpusPerTd: 600, generation: 2 } });
    expect(trail.every((e) => e.entityType !== 'Scenario' || e.entityKey === String(s.number))).toBe(true);

    // Applied is final.
    expect(await decide(s.id, 'REJECTED')).toMatchObject({ __typename: 'ScenarioAppliedError' });
    expect(await decide(s.id, 'ACCEPTED')).toMatchObject({ __typename: 'ScenarioAppliedError' });
    expect(await apply(s.id)).toMatchObject({ __typename: 'ScenarioApplyRefused', reasons: [{ code: 'NOT_ACCEPTED', field: null }] });
  });

  it('apply makes host moves, present CPUs and revision-2 changes (kernel bring-up, TD memory) real in one transaction, one audited update per entity', async () => {
    const changes = {
      kernels: [{ kernel: { name: 'distro-6.12-tdx' }, kvmMaxVcpus: 2048, tdxInitFailure: 'FAIL_KVM_LOAD' }],
      hostMoves: [{ hosts: [{ hostname: 'gnr-b01' }], toModule: { version: MODULE_2_0 } }],
      hosts: [{ host: { hostname: 'gnr-b01' }, presentCpus: 600 }],
      tds: [{ td: { name: 'td-web-01' }, memoryMiB: 4096 }],
    };
    const s = await created({ title: 'gnr-b01 to 2.0 with 600 CPUs online', changes });
    expect(names(s.impact!.hostsGainingTdx)).toEqual(['gnr-b01']);
    expect((await decide(s.id, 'ACCEPTED')).__typename).toBe('MutationDecideScenarioSuccess');
    expect((await apply(s.id)).__typename).toBe('MutationApplyScenarioSuccess');
    const host = ok(
      await viewer.gql<{ host: unknown; kernel: unknown }>(
        '{ host(hostname: "gnr-b01") { presentCpus generation module { version } tdxEnabled } kernel(name: "distro-6.12-tdx") { kvmMaxVcpus tdxInitFailure generation } td(name: "td-web-01") { memoryMiB } }',
      ),
    );
    expect(host).toEqual({
      host: { presentCpus: 600, generation: 2, module: { version: MODULE_2_0 }, tdxEnabled: true },
      kernel: { kvmMaxVcpus: 2048, tdxInitFailure: 'FAIL_KVM_LOAD', generation: 2 },
      td: { memoryMiB: 4096 },
    });
    const updates = (await auditOf(s.id)).filter((e) => e.action === 'UPDATE');
    expect(updates.map((e) => [e.entityType, e.entityKey])).toEqual([
      ['Kernel', 'distro-6.12-tdx'],
      ['Host', 'gnr-b01'],
      ['Td', 'td-web-01'],
    ]);
  });
});

describe('impact over time', () => {
  it('N2: impact is evaluated against the inventory as it is now; impactWhenCreated stays; impactDrift names what entered and left', async () => {
    const s = await created({ title: '600 for 2.0', changes: PROPOSAL_600 });
    // The fleet moves on: a new 688-CPU GNR-SP-4S host runs the 2.0 module; td-analytics-02 is deleted.
    const host = ok(
      await admin.gql<{ createHost: { __typename: string } }>(
        `mutation { createHost(input: { hostname: "gnr-b09", platform: { name: "GNR-SP-4S" }, module: { version: "${MODULE_2_0}" },
           kernel: { name: "linux-6.16" }, presentCpus: 688, guestKeyIds: 64 }) { __typename } }`,
      ),
    );
    expect(host.createHost.__typename).toBe('MutationCreateHostSuccess');
    expect(
      ok(await admin.gql<{ deleteTd: { __typename: string } }>('mutation { deleteTd(td: { name: "td-analytics-02" }) { __typename } }')).deleteTd.__typename,
    ).toBe('MutationDeleteTdSuccess');

    const now = await read(s.id);
    expect(now.impact).toEqual(await liveWhatIf(PROPOSAL_600));
    expect(names(now.impact!.hostsLosingTdx)).toEqual(['gnr-b02', 'gnr-b09']);
    expect(names(now.impact!.tdsNoLongerFitting)).toEqual(['td-analytics-01']);
    expect(now.impactWhenCreated).toEqual(s.impactWhenCreated);
    const moved = now.impactDrift!.filter((d) => d.entered.length || d.left.length);
    // gnr-b09 loses TDX, and its KVM would not load (R1 v2: a mainline kernel); until the proposal
    // disables it, it was a migration target (R6) for TDs that no other host can take.
    expect(moved.map((d) => ({ ...d, entered: [...d.entered].sort() }))).toEqual([
      { list: 'hostsLosingTdx', kind: 'HOST', countWhenCreated: 1, countNow: 2, entered: ['gnr-b09'], left: [] },
      { list: 'hostsLosingKvm', kind: 'HOST', countWhenCreated: 1, countNow: 2, entered: ['gnr-b09'], left: [] },
      { list: 'tdsNoLongerFitting', kind: 'TD', countWhenCreated: 2, countNow: 1, entered: [], left: ['td-analytics-02'] },
      {
        list: 'tdsLeftWithoutMigrationTarget',
        kind: 'TD',
        countWhenCreated: 0,
        countNow: 5,
        entered: ['td-analytics-01', 'td-batch-01', 'td-big-01', 'td-db-01', 'td-db-02'],
        left: [],
      },
    ]);
  });

  it('compareScenarios: two proposals side by side (600 against 500 for the 2.0 module)', async () => {
    const a = await created({ title: '600', changes: PROPOSAL_600 });
    const b = await created({ title: '500', changes: { modules: [{ module: { version: MODULE_2_0 }, maxVcpusPerTd: 500 }] } });
    const res = ok(
      await viewer.gql<{ compareScenarios: { a: { title: string }; b: { title: string }; lists: Record<string, unknown>[] } }>(
        `query($a: ID!, $b: ID!) { compareScenarios(a: { id: $a }, b: { id: $b }) { a { title } b { title } lists { list kind countA countB onlyInA onlyInB } } }`,
        { a: a.id, b: b.id },
      ),
    ).compareScenarios;
    expect([res.a.title, res.b.title]).toEqual(['600', '500']);
    const byList = Object.fromEntries(res.lists.map((l) => [l.list, l]));
    // 500 < 512 present CPUs of gnr-a01 (R1), where td-hpc-01 (512 vCPUs) runs.
    expect(byList.hostsLosingTdx).toEqual({ list: 'hostsLosingTdx', kind: 'HOST', countA: 1, countB: 2, onlyInA: [], onlyInB: ['gnr-a01'] });
    expect(byList.tdsNoLongerFitting).toMatchObject({ countA: 2, countB: 3, onlyInA: [], onlyInB: ['td-hpc-01'] });
    const missing = await viewer.gql(`query($a: ID!) { compareScenarios(a: { id: $a }, b: { id: "U2NlbmFyaW86OTk5OTk=" }) { lists { list } } }`, { a: a.id });
    expect(missing.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', entity: 'Scenario' });
  });

  it('scenarios lists newest first, filtered by status and author, paginated', async () => {
    const first = await created({ title: 'list-1', changes: PROPOSAL_600 });
    const second = await created({ title: 'list-2', changes: PROPOSAL_600 }, admin);
    await decide(first.id, 'REJECTED', 'no');
    const all = ok(await viewer.gql<{ scenarios: { edges: { node: { id: string } }[] } }>('{ scenarios(first: 100) { edges { node { id } } } }'));
    const ids = all.scenarios.edges.map((e) => e.node.id);
    expect(ids.indexOf(second.id)).toBeLessThan(ids.indexOf(first.id));
    const rejected = ok(
      await viewer.gql<{ scenarios: { totalCount: number; edges: { node: { title: string; decisionNote: string } }[] } }>(
        `{ scenarios(filter: { status: REJECTED, author: "${planner.tokenName}" }) { totalCount edges { node { title decisionNote } } } }`,
      ),
    );
    expect(rejected.scenarios.edges.map((e) => e.node)).toContainEqual({ title: 'list-1', decisionNote: 'no' });
    expect(rejected.scenarios.edges.every((e) => e.node.title !== 'list-2')).toBe(true);
    const page = ok(
      await viewer.gql<{ scenarios: { edges: unknown[]; pageInfo: { hasNextPage: boolean } } }>(
        '{ scenarios(first: 1) { edges { cursor } pageInfo { hasNextPage } } }',
      ),
    );
    expect(page.scenarios.edges).toHaveLength(1);
    expect(page.scenarios.pageInfo.hasNextPage).toBe(true);
  });

  it('a page of scenarios with their comments costs the same SQL round trips for 1 and 10 (no N+1)', async () => {
    for (let i = 0; i < 10; i++) {
      const s = await created({ title: `rt-${i}`, changes: PROPOSAL_600 });
      await comment(planner, s.id, `comment ${i}`);
    }
    const trips = async (n: number) =>
      (
        await viewer.gql(
          `{ scenarios(first: ${n}) { totalCount edges { node { number title status author createdAt comments(first: 5) { totalCount edges { node { author body } } } } } } }`,
        )
      ).extensions?.sqlRoundTrips;
    expect(await trips(1)).toBe(await trips(10));
  });
});

describe('refusals', () => {
  it('an unknown module, kernel or host in the changes is a ValidationError naming each; nothing is written', async () => {
    const before = await snapshot();
    const res = ok(
      await create(planner, {
        title: 'ghosts',
        changes: {
          modules: [{ module: { version: '9.9.9' }, maxVcpusPerTd: 600 }],
          kernels: [{ kernel: { name: 'linux-0.01' }, kvmMaxVcpus: 8 }],
          hosts: [{ host: { hostname: 'nowhere' }, presentCpus: 8 }],
        },
      }),
    );
    expect(res.createScenario).toEqual({
      __typename: 'ValidationError',
      problems: [
        { field: 'changes.modules[0].module', message: 'unknown module "9.9.9"' },
        { field: 'changes.kernels[0].kernel', message: 'unknown kernel "linux-0.01"' },
        { field: 'changes.hosts[0].host', message: 'unknown host "nowhere"' },
      ],
    });
    const blank = ok(await create(planner, { title: '  ', changes: {} }));
    expect(blank.createScenario).toEqual({
      __typename: 'ValidationError',
      problems: [
        { field: 'title', message: 'must not be blank' },
        { field: 'changes', message: 'give at least one change' },
      ],
    });
    expect(await snapshot()).toEqual(before);
  });

  it('a stale application is refused with every reason and writes nothing', async () => {
    const changes = {
      modules: [{ module: { version: MODULE_2_0 }, maxVcpusPerTd: 600 }],
      kernels: [{ kernel: { name: 'linux-6.16' }, tdxVcpuPolicy: 'MODULE_LIMIT' }],
      hostMoves: [{ fromKernel: { name: 'distro-6.12-tdx' }, toKernel: { name: 'linux-6.16' } }],
      hosts: [{ host: { hostname: 'gnr-b01' }, presentCpus: 576 }],
    };
    const s = await created({ title: 'stale', changes });
    // Not accepted yet: refused.
    expect(await apply(s.id)).toMatchObject({ __typename: 'ScenarioApplyRefused', reasons: [{ code: 'NOT_ACCEPTED' }] });
    expect((await decide(s.id, 'ACCEPTED')).__typename).toBe('MutationDecideScenarioSuccess');
    // The inventory moves: gnr-b01 is gone, linux-6.16 is changed, and srf-b01 leaves distro-6.12-tdx.
    for (const m of [
      'mutation { deleteHost(host: { hostname: "gnr-b01" }) { __typename } }',
      'mutation { updateKernel(kernel: { name: "linux-6.16" }, input: { kvmMaxVcpus: 2048 }) { __typename } }',
      'mutation { updateHost(host: { hostname: "srf-b01" }, input: { kernel: { name: "linux-6.16" } }) { __typename } }',
    ]) {
      expect(Object.values(ok(await admin.gql<Record<string, { __typename: string }>>(m)))[0]!.__typename).toMatch(/Success$/);
    }
    const before = await snapshot();
    const refused = await apply(s.id);
    expect(refused.__typename).toBe('ScenarioApplyRefused');
    expect(refused.reasons).toEqual([{ code: 'CHANGE_NO_LONGER_APPLIES', field: 'changes.hosts[0].host', message: 'unknown host "gnr-b01"' }]);
    expect(await snapshot()).toEqual(before);
    // The host is gone, so the changes no longer resolve: no impact now, and why.
    const now = await read(s.id);
    expect(now.impact).toBeNull();
    expect(now.impactDrift).toBeNull();
    expect(now.changeProblems).toEqual([{ field: 'changes.hosts[0].host', message: 'unknown host "gnr-b01"' }]);

    // Put gnr-b01 back (a new row, generation 1): the changes resolve again, and what moved since
    // the acceptance is every other reason.
    const back = ok(
      await admin.gql<{ createHost: { __typename: string } }>(
        `mutation { createHost(input: { hostname: "gnr-b01", platform: { name: "GNR-SP-4S" }, module: { version: "1.5.10.00.0820" },
           kernel: { name: "linux-6.16" }, presentCpus: 688, guestKeyIds: 64 }) { __typename } }`,
      ),
    );
    expect(back.createHost.__typename).toBe('MutationCreateHostSuccess');
    const before2 = await snapshot();
    const refused2 = await apply(s.id);
    expect(refused2.__typename).toBe('ScenarioApplyRefused');
    expect(refused2.reasons).toEqual([
      { code: 'CHANGED_SINCE_ACCEPTED', field: null, message: 'Kernel "linux-6.16" has changed since the scenario was accepted (generation 1, now 2)' },
      { code: 'CHANGED_SINCE_ACCEPTED', field: null, message: 'Host "gnr-b01" was deleted and created again since the scenario was accepted' },
      {
        code: 'SELECTION_CHANGED',
        field: 'changes.hostMoves[0]',
        message: 'selects other hosts than when the scenario was accepted: no longer srf-b01',
      },
    ]);
    expect(await snapshot()).toEqual(before2);
    expect((await read(s.id)).status).toBe('ACCEPTED');

    // Accepting again records the inventory as it is now; then it applies.
    expect((await decide(s.id, 'ACCEPTED', 'rechecked')).__typename).toBe('MutationDecideScenarioSuccess');
    expect((await apply(s.id)).__typename).toBe('MutationApplyScenarioSuccess');
  });

  it('accepting a scenario whose changes no longer apply is a ValidationError listing them', async () => {
    const s = await created({ title: 'to be orphaned', changes: { hosts: [{ host: { hostname: 'gnr-b01' }, presentCpus: 576 }] } });
    await admin.gql('mutation { deleteHost(host: { hostname: "gnr-b01" }) { __typename } }');
    expect(await decide(s.id, 'ACCEPTED')).toEqual({
      __typename: 'ValidationError',
      message: 'changes.hosts[0].host: unknown host "gnr-b01"',
      problems: [{ field: 'changes.hosts[0].host', message: 'unknown host "gnr-b01"' }],
    });
    expect((await read(s.id)).status).toBe('OPEN');
    expect(await decide(s.id, 'REJECTED', 'the host is gone')).toMatchObject({ data: { status: 'REJECTED' } });
  });
});

describe('roles', () => {
  it('viewers read scenarios; planners propose and comment; only admins decide and apply', async () => {
    const s = await created({ title: 'roles', changes: PROPOSAL_600 });
    expect((await read(s.id, viewer)).title).toBe('roles');
    const forbidden = (res: GraphQLResponse) => res.errors?.map((e) => e.extensions?.code);
    expect(forbidden(await create(viewer, { title: 'nope', changes: PROPOSAL_600 }))).toEqual(['FORBIDDEN']);
    expect(forbidden(await comment(viewer, s.id, 'nope'))).toEqual(['FORBIDDEN']);
    for (const mutation of [
      `mutation { decideScenario(scenario: { id: "${s.id}" }, status: ACCEPTED) { __typename } }`,
      `mutation { applyScenario(scenario: { id: "${s.id}" }) { __typename } }`,
    ]) {
      expect(forbidden(await planner.gql(mutation))).toEqual(['FORBIDDEN']);
      expect(forbidden(await viewer.gql(mutation))).toEqual(['FORBIDDEN']);
    }
    expect((await read(s.id)).status).toBe('OPEN');
    expect((await read(s.id)).comments.totalCount).toBe(0);
  });
});

describe('tdplan report scenario', () => {
  it('is plain text ready for a mailing-list reply: the proposal, its impact now, the drift, the comments', async () => {
    const s = await created({ title: 'MAX_VCPUS_PER_TD 600 for the 2.0 module', description: 'The module team proposes 600.', changes: PROPOSAL_600 });
    await comment(planner, s.id, 'gnr-b02 would lose TDX.\nanalytics runs there.');
    await admin.gql('mutation { deleteTd(td: { name: "td-analytics-02" }) { __typename } }');
    await decide(s.id, 'ACCEPTED', 'move analytics first');
    const text = await scenarioReport(db, s.number, false);
    const lines = text.split('\n');
    expect(lines[0]).toBe(`Scenario ${s.number}: MAX_VCPUS_PER_TD 600 for the 2.0 module`);
    expect(lines[1]).toMatch(new RegExp(`^Proposed by ${planner.tokenName} on \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC$`));
    expect(lines[2]).toMatch(new RegExp(`^Status: ACCEPTED by ${admin.tokenName} on .* UTC: move analytics first$`));
    expect(text).toContain(
      '\n\nThe module team proposes 600.\n\nChanges:\n  TDX module 2.0.02.00.0420: MAX_VCPUS_PER_TD 600\n\nImpact on the fleet as it is now:\n\n',
    );
    expect(text).toMatch(/tdxEnabledHosts\s+8\s+7\s+-1/);
    expect(text).toMatch(/\nHosts losing TDX: 1\n\nhost {5}why\n-+ {2}-+\ngnr-b02 {2}MAX_VCPUS_PER_TD 600 < 688 present CPUs \[KVM fails to load\]\n/);
    expect(text).toContain('\nHosts whose KVM would fail to load: 1\n');
    expect(text).toContain('TDs that would no longer fit where they run: 1\n');
    expect(text).toContain('Since it was proposed:\n  TDs that would no longer fit where they run: 2 then, 1 now; no longer td-analytics-02');
    expect(text).toMatch(new RegExp(`Comments \\(1\\):\\n\\n${planner.tokenName}, .* UTC:\\n  gnr-b02 would lose TDX.\\n  analytics runs there.$`));
    const json = JSON.parse(await scenarioReport(db, s.number, true)) as { number: number; impact: { hostsLosingTdx: { totalCount: number } } };
    expect(json).toMatchObject({ number: s.number, impact: { hostsLosingTdx: { totalCount: 1 } } });
  });
});
