// Compiled execution (graphql-jit, src/graphql/compiled-execution.ts) answers exactly as the
// standard executor: the same status, data and errors for the planning UI's queries, the README's
// examples, GraphiQL's default, the benchmark's pages, and queries that fail (not found, forbidden,
// bad arguments, bad variables, too complex), in the same SQL round trips.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { getIntrospectionQuery, parse, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiRole } from '../../src/auth/principal.js';
import { compiledExecutionPlugin } from '../../src/graphql/compiled-execution.js';
import { schema } from '../../src/graphql/schema.js';
import { demoFleet } from '../../src/inventory/demo-fleet.js';
import { createTdplanYoga, EXAMPLE_QUERY } from '../../src/server.js';
import { FleetQuery, HostFilterChoicesQuery, HostsQuery } from '../../ui/src/queries.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { importDocument } from '../support/import.js';
import { testClient, type TestClient } from '../support/server.js';

let db: TestDatabase;
type Clients = Record<ApiRole, TestClient>;
let standard: Clients;
let compiled: Clients;

function clientsOf(yoga: ReturnType<typeof createTdplanYoga>): Clients {
  return { ADMIN: testClient(db, 'ADMIN', yoga), PLANNER: testClient(db, 'PLANNER', yoga), VIEWER: testClient(db, 'VIEWER', yoga) };
}

beforeAll(async () => {
  db = await createTestDatabase();
  expect(await importDocument(db, demoFleet(), 'REPLACE')).toMatchObject({ ok: true });
  standard = clientsOf(createTdplanYoga(db, { exposeSqlRoundTrips: true, compiledExecution: 'off' }));
  compiled = clientsOf(createTdplanYoga(db, { exposeSqlRoundTrips: true, compiledExecution: 'always' }));
});
afterAll(async () => {
  // destroy, not close: the test database is dropped (close left one behind on every run).
  await db?.destroy();
});

interface Case {
  query: string;
  variables?: Record<string, unknown>;
  role?: ApiRole;
  /** The case is a failure (not found, refused, invalid): its answer has errors. */
  fails?: boolean;
}

const HOSTS_PAGE = `{ hosts(first: 100) { totalCount edges { node { hostname presentCpus platform { name } module { version maxVcpusPerTd } kernel { name kvmMaxVcpus }
  tds(first: 20) { totalCount edges { node { name vcpus } } } } } } }`;
const CAPACITY_PAGE = `{ hosts(first: 100) { edges { node { hostname tdxEnabled kvmCapMaxVcpus kvmCapMaxVcpusLimitedBy freeVcpus freeKeyIds tdxDisabledReasons { code message effect } } } } }`;
const ONE_HOST = `query($h: String!) { host(hostname: $h) { hostname presentCpus guestKeyIds platform { name maxLogicalCpus } module { version effectiveMaxVcpusPerTd }
  kernel { name } tds(first: 2) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { name vcpus migratable host { hostname } } } } } }`;

async function cases(): Promise<Case[]> {
  const readme = await readFile(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
  const examples = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(examples.length).toBeGreaterThanOrEqual(4);
  const { data } = await standard.ADMIN.gql<{ hosts: { edges: { node: { hostname: string; id: string } }[]; pageInfo: { endCursor: string } } }>(
    '{ hosts(first: 3) { pageInfo { endCursor } edges { node { id hostname } } } }',
  );
  const [first, second] = data!.hosts.edges.map((e) => e.node);
  const hostsScreen = (variables: Record<string, unknown>) => ({
    query: print(HostsQuery),
    variables: { filter: null, orderBy: null, after: null, last: null, before: null, first: 50, ...variables },
  });
  return [
    { query: EXAMPLE_QUERY },
    // GraphiQL's schema query, sent on every page load.
    { query: getIntrospectionQuery() },
    // The README's queries (its mutations would change the fleet between the two answers).
    ...examples.filter((query) => !/^\s*mutation\b/.test(query)).map((query) => ({ query, role: 'PLANNER' as const })),
    { query: print(FleetQuery) },
    { query: print(HostFilterChoicesQuery) },
    hostsScreen({}),
    hostsScreen({ after: data!.hosts.pageInfo.endCursor }),
    hostsScreen({ filter: { tdxEnabled: false }, orderBy: { field: 'PRESENT_CPUS', direction: 'DESC' } }),
    hostsScreen({ first: null, last: 2, before: data!.hosts.pageInfo.endCursor }),
    { query: HOSTS_PAGE },
    { query: CAPACITY_PAGE },
    { query: ONE_HOST, variables: { h: first!.hostname } },
    {
      query: 'query($ids: [ID!]!) { nodes(ids: $ids) { __typename id ... on Host { hostname kvmCapMaxVcpus } } }',
      variables: { ids: [second!.id, first!.id] },
    },
    {
      query:
        '{ placementCandidates(vcpus: 16, first: 3) { totalCount edges { remainingVcpus node { hostname freeVcpus } } pageInfo { hasNextPage endCursor } } }',
    },
    // Failures: a missing host, a bad cursor, a page too large, a field a viewer may not see,
    // bad variables (the standard executor answers those), a query too complex.
    { query: ONE_HOST, variables: { h: 'no-such-host' }, fails: true },
    { query: '{ hosts(first: 2, after: "not-a-cursor") { edges { node { hostname } } } }', fails: true },
    { query: '{ placementCandidates(vcpus: 16, first: 100000) { edges { node { hostname } } } }', fails: true },
    { query: '{ apiTokens { name role } }', role: 'VIEWER', fails: true },
    {
      query: '{ whatIf(changes: { modules: [{ module: { version: "1.5.06.00.0744" }, maxVcpusPerTd: 1 }] }) { capacityAfter { tdxEnabledHosts } } }',
      role: 'VIEWER',
      fails: true,
    },
    { query: ONE_HOST, variables: {}, fails: true },
    { query: 'query($n: Int!) { hosts(first: $n) { edges { node { hostname } } } }', variables: { n: 'many' }, fails: true },
    { query: '{ hosts(first: 100) { edges { node { tds(first: 100) { edges { node { name host { tds(first: 100) { totalCount } } } } } } } } }', fails: true },
  ];
}

describe('compiled execution (graphql-jit)', () => {
  it('answers every case exactly as the standard executor, in the same round trips', async () => {
    for (const c of await cases()) {
      const role = c.role ?? 'ADMIN';
      // A refusal names the token: the two servers' clients have tokens of their own.
      const answer = async (client: TestClient) =>
        JSON.parse(JSON.stringify(await client.gql(c.query, c.variables)).replaceAll(client.tokenName, '<token>')) as unknown;
      const expected = (await answer(standard[role])) as { errors?: unknown[]; data?: unknown };
      // A missing host is data (null), not an error; every other failure has errors, every success none.
      if (c.fails && !c.variables?.h) expect(expected.errors, c.query).toBeDefined();
      if (!c.fails) expect(expected.errors, c.query).toBeUndefined();
      // Twice: the first compiles, the second runs the compiled function from the cache.
      for (let i = 0; i < 2; i++) {
        expect(await answer(compiled[role]), `${c.query} ${JSON.stringify(c.variables ?? {})}`).toEqual(expected);
      }
    }
  });

  it('compiles queries from their second execution by default, never mutations, and not with invalid variables', () => {
    const plugin = compiledExecutionPlugin('repeated');
    const compiledFor = (source: string, variableValues: Record<string, unknown> = {}): boolean => {
      let set = false;
      const document = parse(source);
      const args = { schema, document, variableValues, contextValue: {}, rootValue: {} };
      const run = () => {
        set = false;
        plugin.onExecute!({ args, setExecuteFn: () => (set = true) } as unknown as Parameters<NonNullable<typeof plugin.onExecute>>[0]);
        return set;
      };
      return [run(), run(), run()].join() === 'false,true,true';
    };
    // Each of these compiles (a document graphql-jit could not compile would run on the standard executor).
    for (const query of [HOSTS_PAGE, CAPACITY_PAGE, print(FleetQuery), print(HostFilterChoicesQuery), EXAMPLE_QUERY, '{ fleetSummary { hosts } }']) {
      expect(compiledFor(query), query).toBe(true);
    }
    expect(compiledFor(ONE_HOST, { h: 'x' })).toBe(true);
    expect(compiledFor(print(HostsQuery), { first: 50 })).toBe(true);
    expect(compiledFor('query($n: Int) { hosts(first: $n) { totalCount } }', { n: 2 })).toBe(true);
    expect(compiledFor('query($n: Int) { hosts(first: $n) { totalCount } }', { n: 'x' })).toBe(false);
    expect(compiledFor('mutation { deleteHost(host: { hostname: "x" }) { __typename } }')).toBe(false);
  });
});
