import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostCapacity } from '../../src/capacity/rules.js';
import { hostFacts, hostFactsSelect, hostUsage, hostUsageSelect } from '../../src/planning/host-facts.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createFleet } from '../support/fleet.js';
import { testClient, type TestClient } from '../support/server.js';

let db: TestDatabase;
let client: TestClient;

beforeAll(async () => {
  db = await createTestDatabase();
  client = testClient(db);
  await createFleet(db, { hosts: 120, tdsPerHost: 3 });
});
afterAll(async () => {
  await db.destroy();
});

const HOSTS_PAGE = /* GraphQL */ `
  query Page($first: Int!, $after: String) {
    hosts(first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          id
          hostname
          presentCpus
          platform {
            name
            maxLogicalCpus
          }
          module {
            version
            maxVcpusPerTd
            features
            supportedPlatforms(first: 5) {
              totalCount
              edges {
                node {
                  name
                }
              }
            }
          }
          kernel {
            name
            kvmMaxVcpus
            tdxVcpuPolicy
          }
          tds(first: 10) {
            totalCount
            edges {
              node {
                name
                vcpus
              }
            }
          }
        }
      }
    }
  }
`;

interface HostsPage {
  hosts: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string };
    edges: { node: { id: string; hostname: string; module: { version: string } | null; tds: { totalCount: number; edges: unknown[] } } }[];
  };
}

describe('hosts with nested module, platform, kernel and TDs', () => {
  it('answers a page of 100 hosts with everything nested', async () => {
    const res = await client.gql<HostsPage>(HOSTS_PAGE, { first: 100 });
    expect(res.errors).toBeUndefined();
    const hosts = res.data!.hosts;
    expect(hosts.totalCount).toBe(120);
    expect(hosts.edges).toHaveLength(100);
    expect(hosts.pageInfo.hasNextPage).toBe(true);
    expect(hosts.edges[0]!.node.tds.totalCount).toBe(3);
    // every fifth host has no module loaded (fixture)
    expect(hosts.edges[4]!.node.module).toBeNull();
    expect(hosts.edges[0]!.node.module?.version).toBe('1.5.06.00.0744');
  });

  it('costs the same small number of SQL round trips whatever the page size (no N+1)', async () => {
    const trips: number[] = [];
    for (const first of [1, 10, 100]) {
      const res = await client.gql<HostsPage>(HOSTS_PAGE, { first });
      expect(res.errors).toBeUndefined();
      expect(res.data!.hosts.edges).toHaveLength(first);
      trips.push(res.extensions!.sqlRoundTrips!);
    }
    expect(new Set(trips).size).toBe(1);
    expect(trips[0]).toBeLessThanOrEqual(8);
  });

  it('counts hosts only when totalCount is asked, however it is asked (the count starts beside the page)', async () => {
    type Counted = { hosts: { totalCount?: number; edges: unknown[] } };
    const cases: { query: string; variables?: Record<string, unknown>; trips: number; totalCount?: number }[] = [
      { query: '{ hosts(first: 3) { totalCount edges { node { hostname } } } }', trips: 2, totalCount: 120 },
      { query: '{ hosts(first: 3) { edges { node { hostname } } } }', trips: 1 },
      { query: '{ hosts(first: 3) { ...C edges { node { hostname } } } } fragment C on QueryHostsConnection { totalCount }', trips: 2, totalCount: 120 },
      { query: '{ hosts(first: 3) { ... on QueryHostsConnection { n: totalCount } edges { node { hostname } } } }', trips: 2 },
      { query: 'query($c: Boolean!) { hosts(first: 3) { totalCount @include(if: $c) edges { node { hostname } } } }', variables: { c: false }, trips: 1 },
      {
        query: 'query($c: Boolean!) { hosts(first: 3) { totalCount @include(if: $c) edges { node { hostname } } } }',
        variables: { c: true },
        trips: 2,
        totalCount: 120,
      },
      { query: '{ hosts(first: 3, filter: { hasModule: false }) { totalCount edges { node { hostname } } } }', trips: 2, totalCount: 24 },
    ];
    for (const c of cases) {
      const res = await client.gql<Counted>(c.query, c.variables);
      expect(res.errors, c.query).toBeUndefined();
      expect(res.data!.hosts.edges, c.query).toHaveLength(3);
      expect(res.extensions!.sqlRoundTrips, c.query).toBe(c.trips);
      expect(res.data!.hosts.totalCount, c.query).toBe(c.totalCount);
    }
  });

  it('pages with cursors through every host exactly once', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const res = await client.gql<HostsPage>(HOSTS_PAGE, { first: 50, after });
      const page = res.data!.hosts;
      seen.push(...page.edges.map((e) => e.node.hostname));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(120);
    expect(new Set(seen).size).toBe(120);
  });
});

// Issue 17's capacity page: the capacity fields resolve from the facts planned into the page's own
// statement (src/graphql/types/capacity.ts, planCapacityFacts), never from a query per host.
const CAPACITY_PAGE = /* GraphQL */ `
  query Capacity($first: Int!) {
    hosts(first: $first) {
      edges {
        node {
          hostname
          tdxEnabled
          kvmCapMaxVcpus
          kvmCapMaxVcpusLimitedBy
          freeVcpus
          freeKeyIds
          tdMemoryMiB
          tdxDisabledReasons {
            code
            effect
          }
        }
      }
    }
  }
`;

interface CapacityPage {
  hosts: {
    edges: {
      node: {
        hostname: string;
        tdxEnabled: boolean;
        kvmCapMaxVcpus: number | null;
        kvmCapMaxVcpusLimitedBy: string[];
        freeVcpus: number;
        freeKeyIds: number;
        tdMemoryMiB: number | null;
        tdxDisabledReasons: { code: string; effect: string }[];
      };
    }[];
  };
}

describe('the capacity page (R1, R3, R4, R7 fields on a page of hosts)', () => {
  it('is one SQL round trip whatever the page size (no query per host)', async () => {
    for (const first of [1, 10, 100]) {
      const res = await client.gql<CapacityPage>(CAPACITY_PAGE, { first });
      expect(res.errors).toBeUndefined();
      expect(res.data!.hosts.edges).toHaveLength(first);
      expect(res.extensions!.sqlRoundTrips).toBe(1);
    }
  });

  it('answers what the rules answer for each host (R1, R3, R4, R7)', async () => {
    const res = await client.gql<CapacityPage>(CAPACITY_PAGE, { first: 100 });
    const rows = await db.prisma.host.findMany({ select: { hostname: true, ...hostFactsSelect, ...hostUsageSelect }, orderBy: { id: 'asc' }, take: 100 });
    const expected = rows.map((row) => {
      const c = hostCapacity(hostFacts(row), hostUsage(row));
      return {
        hostname: row.hostname,
        tdxEnabled: c.tdxEnabled,
        kvmCapMaxVcpus: c.kvmCapMaxVcpus,
        kvmCapMaxVcpusLimitedBy: [...c.kvmCapMaxVcpusLimitedBy],
        freeVcpus: c.freeVcpus,
        freeKeyIds: c.freeKeyIds,
        tdMemoryMiB: c.tdMemoryMiB,
        tdxDisabledReasons: c.tdxDisabledReasons.map((r) => ({ code: r.code, effect: r.effect })),
      };
    });
    expect(res.data!.hosts.edges.map((e) => e.node)).toEqual(expected);
    // Not vacuous: hosts with reasons (every fifth fixture host has no module) are among them.
    expect(expected.some((h) => h.tdxDisabledReasons.length > 0)).toBe(true);
  });
  it('adds no round trip wherever a host is reached: the host of a TD, a host by name, placement candidates', async () => {
    // The fixture's module lacks NO_RBP_MOD (R1 v2: TDX off under a STRICT kernel); with it, hosts
    // accept TDs, so the candidate page has hosts to load. The last test of this block.
    await db.prisma.tdxModule.update({ where: { version: '1.5.06.00.0744' }, data: { features: ['TOPOLOGY_ENUM', 'NO_RBP_MOD'] } });
    const CAPACITY = 'tdxEnabled kvmCapMaxVcpus freeVcpus freeKeyIds tdxDisabledReasons { code }';
    const shapes = [
      (fields: string) => `{ td(name: "td-3-1") { name host { hostname ${fields} } } }`,
      (fields: string) => `{ host(hostname: "host-0003") { hostname ${fields} } }`,
      (fields: string) => `{ placementCandidates(vcpus: 1, first: 20) { edges { node { hostname ${fields} } } } }`,
    ];
    for (const shape of shapes) {
      const without = await client.gql(shape(''));
      const withCapacity = await client.gql(shape(CAPACITY));
      expect(without.errors).toBeUndefined();
      expect(withCapacity.errors).toBeUndefined();
      expect(withCapacity.extensions!.sqlRoundTrips, shape('...')).toBe(without.extensions!.sqlRoundTrips);
      expect(JSON.stringify(withCapacity.data)).toContain('"tdxEnabled":true');
    }
  });
  it('answers a candidate page in one round trip when its hosts need only their columns and capacity fields, the same as from two', async () => {
    // Runs after the test above (the module has NO_RBP_MOD: hosts accept TDs).
    const HOST = 'id hostname presentCpus guestKeyIds allocationRatio kvmIntelTdx memoryMiB reservedMemoryMiB generation';
    const CAPACITY = 'tdxEnabled kvmLoads kvmCapMaxVcpus kvmCapMaxVcpusLimitedBy freeVcpus freeKeyIds freeMemoryMiB tdxDisabledReasons { code }';
    const page = (fields: string) =>
      `{ placementCandidates(vcpus: 8, memoryMiB: 1024, first: 30) { pageInfo { hasNextPage endCursor } edges { cursor remainingVcpus node { ${fields} } } } }`;
    type Page = { placementCandidates: { edges: { node: Record<string, unknown> }[] } };
    const one = await client.gql<Page>(page(`${HOST} ${CAPACITY}`));
    const two = await client.gql<Page>(page(`${HOST} ${CAPACITY} platform { name }`));
    expect(one.errors).toBeUndefined();
    expect(two.errors).toBeUndefined();
    expect(one.extensions!.sqlRoundTrips).toBe(1);
    expect(two.extensions!.sqlRoundTrips).toBe(2);
    expect(one.data!.placementCandidates.edges.length).toBeGreaterThan(10);
    const withoutPlatform = two.data!.placementCandidates.edges.map(({ node: { platform: _platform, ...rest }, ...edge }) => ({ ...edge, node: rest }));
    expect({ ...two.data!.placementCandidates, edges: withoutPlatform }).toEqual(one.data!.placementCandidates);
  });
});

describe('the hosts page from one statement (hostPage of src/planning/host-page.ts)', () => {
  // The Hosts screen's query (ui/src/queries.ts HostsQuery): host columns, capacity fields, and
  // scalar columns of platform, module and kernel, which one hand-written statement carries.
  const NODE = `hostname presentCpus guestKeyIds platform { name maxLogicalCpus } module { version maxVcpusPerTd effectiveMaxVcpusPerTd } kernel { name kvmMaxVcpus }
    tdxEnabled kvmLoads tdxDisabledReasons { code effect } kvmCapMaxVcpus kvmCapMaxVcpusLimitedBy freeMemoryMiB tdMemoryMiB freeVcpus schedulableVcpus freeKeyIds`;
  const page = (node: string) => /* GraphQL */ `
    query ($filter: HostFilter, $orderBy: HostOrder, $first: Int, $after: String, $last: Int, $before: String) {
      hosts(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id ${node} } }
      }
    }`;
  type Page = { hosts: { pageInfo: { startCursor: string | null; endCursor: string | null }; edges: { cursor: string; node: Record<string, unknown> }[] } };

  /** Statements sent on the pool while `fn` runs (Prisma's go through it too). */
  async function statements<T>(fn: () => Promise<T>): Promise<{ result: T; sql: string[] }> {
    const sql: string[] = [];
    const query = db.pool.query.bind(db.pool);
    db.pool.query = ((text: unknown, ...rest: unknown[]) => {
      sql.push(typeof text === 'string' ? text : String((text as { text?: string }).text));
      return (query as (...a: unknown[]) => unknown)(text, ...rest);
    }) as typeof db.pool.query;
    try {
      return { result: await fn(), sql };
    } finally {
      db.pool.query = query;
    }
  }
  // hostPage's statements (the page), and hostCount's (the totalCount, beside the page).
  const isCount = (s: string) => s.startsWith('SELECT count(*)::int AS n FROM host h');
  const handWritten = (sql: string[]) => sql.filter((s) => /FROM host h\b/.test(s) && !isCount(s)).length;
  const counts = (sql: string[]) => sql.filter(isCount).length;

  it('answers the capacity page and the Hosts screen in one statement of its own, no more round trips', async () => {
    const capacity = await statements(() => client.gql<CapacityPage>(CAPACITY_PAGE, { first: 100 }));
    expect(capacity.result.errors).toBeUndefined();
    expect(capacity.result.extensions!.sqlRoundTrips).toBe(1);
    expect(handWritten(capacity.sql)).toBe(1);
    const screen = await statements(() => client.gql<Page>(page(NODE), { first: 50 }));
    expect(screen.result.errors).toBeUndefined();
    expect(screen.result.data!.hosts.edges).toHaveLength(50);
    // The page, and its count beside it (hand-written too).
    expect(screen.result.extensions!.sqlRoundTrips).toBe(2);
    expect(handWritten(screen.sql)).toBe(1);
    expect(counts(screen.sql)).toBe(1);
    expect(counts(capacity.sql)).toBe(0);
    // With the TDs' connection from its start (the bench's hosts page): the page and its TDs in one
    // statement, and the count beside it.
    const withTds = await statements(() =>
      client.gql<Page>(page(`${NODE} tds(first: 2) { totalCount pageInfo { hasNextPage } edges { cursor node { id name vcpus memoryMiB migratable } } }`), {
        first: 50,
      }),
    );
    expect(withTds.result.errors).toBeUndefined();
    expect(withTds.result.data!.hosts.edges).toHaveLength(50);
    expect(withTds.result.extensions!.sqlRoundTrips).toBe(2);
    expect(handWritten(withTds.sql)).toBe(1);
    const onlyCount = await statements(() => client.gql<Page>(page(`${NODE} tds(first: 2) { totalCount }`), { first: 50 }));
    expect(onlyCount.result.errors).toBeUndefined();
    expect(onlyCount.result.extensions!.sqlRoundTrips).toBe(2);
    expect(handWritten(onlyCount.sql)).toBe(1);
    // TDs from the end (or with nested relations) are not carried: Prisma answers, as before.
    const fromEnd = await statements(() => client.gql<Page>(page(`${NODE} tds(last: 2) { edges { node { id } } }`), { first: 50 }));
    expect(fromEnd.result.errors).toBeUndefined();
    expect(handWritten(fromEnd.sql)).toBe(0);
  });

  it("answers a host by hostname from the same statement, with Prisma's answer", async () => {
    const oneHost = (
      tdExtra: string,
    ) => `query ($h: String!, $n: Int) { host(hostname: $h) { id hostname presentCpus guestKeyIds platform { name } module { version }
      kernel { name } tdxEnabled kvmCapMaxVcpus freeVcpus tds(first: $n) { totalCount pageInfo { hasNextPage } edges { cursor node { id name vcpus migratable ...TdMore ${tdExtra} } } } } }
      fragment TdMore on Td { memoryMiB generation }`;
    type OneHost = { host: { tds: { edges: { node: { host?: unknown } }[] } } | null };
    const busiest = await db.prisma.host.findFirstOrThrow({ where: { tds: { some: {} } }, orderBy: [{ tdCount: 'desc' }, { id: 'asc' }] });
    expect(busiest.tdCount).toBeGreaterThan(2);
    // A page of fewer TDs than the host has, one of more, and a host that does not exist.
    for (const [hostname, n] of [
      [busiest.hostname, 2],
      [busiest.hostname, 50],
      ['no-such-host', 2],
    ] as const) {
      const carried = await statements(() => client.gql<OneHost>(oneHost(''), { h: hostname, n }));
      expect(carried.result.errors).toBeUndefined();
      expect(carried.result.extensions!.sqlRoundTrips).toBe(1);
      expect(handWritten(carried.sql)).toBe(1);
      // The TDs' host too: not carried, Prisma answers; without that field, the same answer.
      const prisma = await statements(() => client.gql<OneHost>(oneHost('host { hostname }'), { h: hostname, n }));
      expect(prisma.result.errors).toBeUndefined();
      expect(handWritten(prisma.sql)).toBe(0);
      const host = prisma.result.data!.host;
      const withoutTdHost = host && { ...host, tds: { ...host.tds, edges: host.tds.edges.map((e) => ({ ...e, node: { ...e.node, host: undefined } })) } };
      expect(JSON.parse(JSON.stringify(carried.result.data!.host))).toEqual(JSON.parse(JSON.stringify(withoutTdHost)));
      expect(carried.result.data!.host === null).toBe(hostname === 'no-such-host');
    }
  });

  it("gives Prisma's TDs and counts with the TDs' connection from its start", async () => {
    const tds = (extra: string) =>
      `${NODE} tds(first: $tds) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id name vcpus memoryMiB migratable ${extra} } } }`;
    const withTds = (node: string) => page(node).replace('$before: String)', '$before: String, $tds: Int)');
    type TdsPage = { hosts: { edges: { node: { tds: { edges: { node: Record<string, unknown> }[] } } }[] } };
    // The TDs' host asked too: Prisma answers (checked), its answer without the host must be the same.
    const stripHost = (p: TdsPage) =>
      p.hosts.edges.map(({ node }) => ({
        ...node,
        tds: { ...node.tds, edges: node.tds.edges.map(({ node: { host: _host, ...td }, ...edge }) => ({ ...edge, node: td })) },
      }));
    let tdsSeen = 0;
    for (const filter of [null, { tdxEnabled: true }, { overFull: false }]) {
      for (const orderBy of [null, { field: 'TD_COUNT', direction: 'DESC' }]) {
        for (const first of [1, 3, 4]) {
          const variables = { filter, orderBy, first: 9, tds: first };
          const sql = await statements(() => client.gql<TdsPage>(withTds(tds('')), variables));
          const prisma = await statements(() => client.gql<TdsPage>(withTds(tds('host { id }')), variables));
          expect(sql.result.errors).toBeUndefined();
          expect(prisma.result.errors).toBeUndefined();
          expect(handWritten(sql.sql)).toBe(1);
          expect(handWritten(prisma.sql)).toBe(0);
          expect(stripHost(sql.result.data!), JSON.stringify(variables)).toEqual(stripHost(prisma.result.data!));
          tdsSeen += sql.result.data!.hosts.edges.reduce((n, { node }) => n + node.tds.edges.length, 0);
        }
      }
    }
    expect(tdsSeen).toBeGreaterThan(100);
  });

  // Without capacity fields the statement reads only the host columns the fields need
  // (hostColumnsOf in src/graphql/types/host.ts): every plain Host field, through a fragment on Node too.
  const NODE_COLUMNS = `hostname generation presentCpus guestKeyIds allocationRatio kvmIntelTdx memoryMiB reservedMemoryMiB __typename
    ... on Node { id } platform { name } module { version maxVcpusPerTd } kernel { name }`;

  it('reads only the host columns the fields need when no field reads more', async () => {
    const narrow = await statements(() => client.gql<Page>(page(NODE_COLUMNS), { first: 5 }));
    const all = await statements(() => client.gql<Page>(page(NODE), { first: 5 }));
    expect(narrow.result.errors).toBeUndefined();
    const statementOf = (sql: string[]) => sql.find((s) => /FROM host h\b/.test(s) && !isCount(s))!;
    // known_memory_td_mib: only the capacity fields (R7) read it.
    expect(statementOf(narrow.sql)).not.toContain('known_memory_td_mib');
    expect(statementOf(all.sql)).toContain('known_memory_td_mib');
    expect(narrow.result.data!.hosts.edges.map((e) => e.node.hostname)).toEqual(all.result.data!.hosts.edges.map((e) => e.node.hostname));
  });

  it("gives Prisma's answer for every filter, order and cursor, forwards and backwards", async () => {
    await comparedWithPrisma(NODE);
  });

  it("gives Prisma's answer for every filter, order and cursor with only host columns asked", async () => {
    await comparedWithPrisma(NODE_COLUMNS);
  });

  async function comparedWithPrisma(NODE: string): Promise<void> {
    // The same query with TDs asked from the end goes to Prisma: both answers, TDs left out, must be equal.
    const viaPrisma = `${NODE} tds(last: 1) { edges { node { id } } }`;
    const module = await db.prisma.tdxModule.findFirstOrThrow();
    const filters = [
      null,
      { tdxEnabled: true },
      { tdxEnabled: false, hasModule: true },
      { module: { version: module.version }, minKvmCapMaxVcpus: 100 },
      { platform: { name: 'SPR-2S' }, kvmLoads: true },
      { kernel: { name: 'linux-6.16' }, overFull: false },
      { tdxDisabledReason: 'NO_MODULE' },
      { platform: { name: 'no-such-platform' } },
    ];
    const orders = [
      null,
      { field: 'HOSTNAME', direction: 'DESC' },
      { field: 'PRESENT_CPUS' },
      { field: 'TD_COUNT', direction: 'DESC' },
      { field: 'ALLOCATED_VCPUS' },
    ];
    let compared = 0;
    for (const filter of filters) {
      for (const orderBy of orders) {
        // Forwards from the start, then from the first page's end; backwards from the end, then from its start.
        const steps: Record<string, unknown>[] = [{ first: 7 }, { last: 7 }];
        for (let i = 0; i < steps.length && i < 6; i++) {
          const variables = { filter, orderBy, ...steps[i] };
          const sql = await client.gql<Page>(page(NODE), variables);
          const prisma = await client.gql<Page>(page(viaPrisma), variables);
          expect(sql.errors).toBeUndefined();
          expect(prisma.errors).toBeUndefined();
          const strip = (p: Page) => ({ ...p.hosts, edges: p.hosts.edges.map(({ node: { tds: _tds, ...node }, ...edge }) => ({ ...edge, node })) });
          expect(strip(sql.data!), JSON.stringify(variables)).toEqual(strip(prisma.data!));
          compared += sql.data!.hosts.edges.length;
          const { startCursor, endCursor } = sql.data!.hosts.pageInfo;
          if ('first' in steps[i]! && endCursor) steps.push({ first: 7, after: endCursor });
          if ('last' in steps[i]! && startCursor) steps.push({ last: 7, before: startCursor });
        }
      }
    }
    expect(compared).toBeGreaterThan(500);
  }
});

describe('node(id:) and nodes(ids:)', () => {
  const globalId = (type: string, id: number | string) => Buffer.from(`${type}:${id}`).toString('base64');
  const NODES = 'query($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on Host { hostname } } }';

  it('answers null for a well-formed ID of a row that does not exist (Relay), not an internal error', async () => {
    const missing = globalId('Host', 2_000_000_000);
    const one = await client.gql<{ node: unknown }>('query($id: ID!) { node(id: $id) { id } }', { id: missing });
    expect(one.errors).toBeUndefined();
    expect(one.data!.node).toBeNull();

    const page = await client.gql<HostsPage>(HOSTS_PAGE, { first: 1 });
    const existing = page.data!.hosts.edges[0]!.node;
    const many = await client.gql<{ nodes: ({ __typename: string; hostname: string } | null)[] }>(NODES, {
      ids: [missing, existing.id, globalId('Td', 2_000_000_000)],
    });
    expect(many.errors).toBeUndefined();
    expect(many.data!.nodes).toEqual([null, { __typename: 'Host', hostname: existing.hostname }, null]);
  });

  it('refuses an ID that is not one of ours with a clear error, not a masked one', async () => {
    for (const id of ['not-an-id', globalId('Bogus', 1), globalId('Host', 'abc')]) {
      const res = await client.gql<{ node: unknown }>('query($id: ID!) { node(id: $id) { id } }', { id });
      expect(res.errors, id).toHaveLength(1);
      expect(res.errors![0]!.message, id).not.toMatch(/Unexpected error/);
      expect(res.data?.node ?? null).toBeNull();
    }
  });
});
