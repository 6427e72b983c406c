// Named statements (src/db/prepared-statements.ts): on PostgreSQL the planning queries are prepared
// once per connection and, once PostgreSQL has seen them five times, run on a generic plan without
// being planned again; the answers are the same as without them; DATABASE_PREPARED_STATEMENTS=off
// turns them off, the embedded PGlite never has them, and no process names more than a bounded
// number of statement texts.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type Database } from '../../src/db/client.js';
import { MAX_NAMED_STATEMENTS, preparedStatementsSetting, StatementNames } from '../../src/db/prepared-statements.js';
import { demoFleet } from '../../src/inventory/demo-fleet.js';
import { generateFleet } from '../../src/inventory/generate.js';
import { createTdplanYoga } from '../../src/server.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../support/database.js';
import { importDocument } from '../support/import.js';
import { testClient, testCompiledExecution, type TestClient } from '../support/server.js';

const CAPACITY_PAGE = `{ hosts(first: 100) { edges { node { hostname tdxEnabled kvmCapMaxVcpus kvmCapMaxVcpusLimitedBy freeVcpus freeKeyIds
  tdxDisabledReasons { code } } } } }`;
const ONE_HOST = `query($h: String!) { host(hostname: $h) { hostname presentCpus platform { name } module { version } kernel { name }
  tds(first: 50) { totalCount edges { node { name vcpus } } } } }`;

// The candidate page with its count, as a scheduler asks, and a TD's migration targets. On PostgreSQL
// the fleet is a generated one of 3,000 hosts: on the demo fleet's few hosts the planner costs the
// generic plan of the candidate page like its custom plans, and the first check below passed with
// the TD's size as a plain parameter too (re-planned on every execution from 3,000 hosts up).
const CANDIDATES = `{ placementCandidates(vcpus: 2, first: 50) { totalCount edges { remainingVcpus node { hostname } } pageInfo { endCursor } } }`;
const NEXT_CANDIDATES = `query($a: String!) { placementCandidates(vcpus: 2, first: 50, after: $a) { edges { remainingVcpus node { hostname } } } }`;
const MIGRATION_TARGETS = `query($n: String!) { td(name: $n) { migrationTargets(first: 50) { totalCount edges { node { hostname } } } } }`;

interface PreparedStatement {
  name: string;
  statement: string;
  generic_plans: number;
  custom_plans: number;
}

let db: TestDatabase;
let hostname: string;
let tdName: string;

beforeAll(async () => {
  db = await createTestDatabase();
  const fleet = db.kind === 'embedded' ? demoFleet() : generateFleet({ hosts: 3000, tds: 30_000, seed: 7 });
  const imported = await importDocument(db, fleet, 'MERGE');
  expect(imported.ok).toBe(true);
  hostname = (await db.prisma.host.findFirstOrThrow({ where: { tds: { some: {} } }, orderBy: { id: 'asc' } })).hostname;
  // A TD whose module exports: migrationTargets runs its statements only then.
  tdName = (
    await db.prisma.td.findFirstOrThrow({
      where: { migratable: true, host: { module: { minExportVersion: { not: null }, maxExportVersion: { not: null } } } },
      orderBy: { id: 'asc' },
    })
  ).name;
});
afterAll(async () => {
  await db.destroy();
});

/**
 * A server on a pool of one connection (the embedded database's pool has only one anyway), so
 * that pg_prepared_statements, which is per session, sees every statement the requests prepared.
 */
async function withOneConnection<T>(preparedStatements: boolean, fn: (client: TestClient, one: Database) => Promise<T>): Promise<T> {
  const one = connectDatabase(db.url, { max: 1, embedded: db.kind === 'embedded', preparedStatements });
  try {
    const yoga = createTdplanYoga(one, { compiledExecution: testCompiledExecution() });
    return await fn(testClient(db, 'VIEWER', yoga), one);
  } finally {
    await one.close();
  }
}

async function preparedStatements(one: Database): Promise<PreparedStatement[]> {
  // Text without parameters runs unnamed: this query prepares nothing itself.
  const { rows } = await one.pool.query<PreparedStatement>(
    'SELECT name, statement, generic_plans::int AS generic_plans, custom_plans::int AS custom_plans FROM pg_prepared_statements ORDER BY name',
  );
  return rows;
}

async function answers(client: TestClient, times: number): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < times; i++) {
    for (const [query, variables] of [
      [CAPACITY_PAGE, undefined],
      [ONE_HOST, { h: hostname }],
      [CANDIDATES, undefined],
      [MIGRATION_TARGETS, { n: tdName }],
    ] as const) {
      const response = await client.gql(query, variables);
      expect(response.errors).toBeUndefined();
      out.push(response.data);
      if (query === CANDIDATES) {
        // The next page: the same statement with the cursor's keyset.
        const { endCursor } = (response.data as { placementCandidates: { pageInfo: { endCursor: string } } }).placementCandidates.pageInfo;
        const next = await client.gql(NEXT_CANDIDATES, { a: endCursor });
        expect(next.errors).toBeUndefined();
        out.push(next.data);
      }
    }
  }
  return out;
}

describe('named statements', () => {
  it.runIf(databaseKind === 'postgres')(
    "prepare the capacity page's, one host's and the candidate pages' statements once per connection, and keep generic plans",
    async () => {
      await withOneConnection(true, async (client, one) => {
        const data = await answers(client, 8);
        const prepared = await preparedStatements(one);
        for (const p of prepared) expect(p.name).toMatch(/^tdplan_[0-9a-f]{32}$/);
        // The capacity page: hostPage's hand-written statement. Its row counts are literals; with
        // LIMIT $n PostgreSQL would plan every execution anew (custom plans only).
        const page = prepared.filter((p) => p.statement.includes('FROM host h') && p.statement.includes('LIMIT 101'));
        expect(page).toHaveLength(1);
        expect(page[0]!.custom_plans + page[0]!.generic_plans).toBe(8);
        expect(page[0]!.generic_plans).toBeGreaterThan(0);
        // One host: hostPage's statement too, a page of one filtered by hostname.
        const host = prepared.filter((p) => p.statement.includes('h.hostname = $1'));
        expect(host).toHaveLength(1);
        expect(host[0]!.generic_plans).toBeGreaterThan(0);
        // The candidate pages and their counts over host_capacity (placementCandidates, migrationTargets):
        // the TD's size, not a literal, yet a generic plan (planOpaque in src/planning/sql-literals.ts).
        const candidates = prepared.filter((p) => p.statement.includes('FROM host_capacity c WHERE'));
        // The page, its count, the next page, and migrationTargets' page and count.
        expect(candidates).toHaveLength(5);
        for (const c of candidates) expect(c, c.statement).toMatchObject({ custom_plans: 5, generic_plans: 3 });
        // Prisma's statements (the token lookup among them) are named too, through adapter-pg's statementNameGenerator.
        expect(prepared.some((p) => p.statement.includes('FROM "public"."'))).toBe(true);
        // The same answers as unnamed statements give.
        await withOneConnection(false, async (unnamedClient, unnamed) => {
          expect(await answers(unnamedClient, 8)).toEqual(data);
          expect(await preparedStatements(unnamed)).toEqual([]);
        });
      });
    },
  );

  it.runIf(databaseKind === 'embedded')('are off on the embedded PGlite, whose one session every connection shares', async () => {
    await withOneConnection(true, async (client, one) => {
      await answers(client, 2);
      expect(await preparedStatements(one)).toEqual([]);
    });
  });

  it('name a bounded number of texts per process: the same text the same name, later ones unnamed', () => {
    const names = new StatementNames(3);
    const a = names.nameFor('SELECT 1 WHERE $1');
    expect(names.nameFor('SELECT 2 WHERE $1')).not.toBe(a);
    expect(names.nameFor('SELECT 3 WHERE $1')).toMatch(/^tdplan_/);
    expect(names.nameFor('SELECT 4 WHERE $1')).toBe('');
    expect(names.nameFor('SELECT 1 WHERE $1')).toBe(a);
    expect(names.size).toBe(3);
    expect(new StatementNames().nameFor('SELECT 1 WHERE $1')).toBe(a);
    expect(MAX_NAMED_STATEMENTS).toBeLessThanOrEqual(100);
  });

  it('are on unless DATABASE_PREPARED_STATEMENTS says off; any other value is refused', async () => {
    expect(preparedStatementsSetting(undefined)).toBe(true);
    expect(preparedStatementsSetting('')).toBe(true);
    expect(preparedStatementsSetting('on')).toBe(true);
    expect(preparedStatementsSetting('off')).toBe(false);
    expect(() => preparedStatementsSetting('no')).toThrow('DATABASE_PREPARED_STATEMENTS must be "on" or "off", got "no"');
    const bin = path.resolve(import.meta.dirname, '../../bin/tdplan.js');
    const failed = await promisify(execFile)(process.execPath, [bin, 'migrate'], {
      env: { ...process.env, DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none', DATABASE_PREPARED_STATEMENTS: 'false' },
    }).then(
      () => null,
      (err: unknown) => err as { code: number; stderr: string },
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stderr.trim()).toBe('tdplan: DATABASE_PREPARED_STATEMENTS must be "on" or "off", got "false"');
  });
});

it.runIf(databaseKind === 'postgres')('the pool names only parameterised text: a script of several statements still runs', async () => {
  const one = connectDatabase(db.url, { max: 1 });
  try {
    const results = (await one.pool.query('SELECT 1 AS a; SELECT 2 AS b')) as unknown as { rows: unknown[] }[];
    expect(results.map((r) => r.rows)).toEqual([[{ a: 1 }], [{ b: 2 }]]);
    expect((await one.pool.query<{ n: number }>('SELECT $1::int + 1 AS n', [1])).rows).toEqual([{ n: 2 }]);
    expect((await preparedStatements(one)).map((p) => p.statement)).toEqual(['SELECT $1::int + 1 AS n']);
  } finally {
    await one.close();
  }
});
