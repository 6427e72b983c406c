// The service as operators run it, through a real port: health and readiness, Prometheus metrics,
// structured request logs, request size limits, graceful shutdown, and a database that goes away
// under load and comes back.
import { Writable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, EMBEDDED_POOL_SIZE } from '../../src/db/client.js';
import { demoFleet } from '../../src/inventory/demo-fleet.js';
import { importDocument } from '../support/import.js';
import { createTdplanYoga, listen, type RunningServer } from '../../src/server.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../support/database.js';
import { tokenFor } from '../support/server.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

let db: TestDatabase;
let token: string;

beforeAll(async () => {
  db = await createTestDatabase();
  expect(await importDocument(db, demoFleet(), 'REPLACE')).toMatchObject({ ok: true });
  token = await tokenFor(db, 'ADMIN');
});
afterAll(async () => {
  await db.destroy();
});

function capturedLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

async function gql(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  as: string = token,
): Promise<{ status: number; body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] } }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${as}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as never };
}

describe('operational endpoints', () => {
  let server: RunningServer;
  let base: string;
  let lines: Record<string, unknown>[];

  beforeAll(async () => {
    const captured = capturedLogger();
    lines = captured.lines;
    server = await listen(createTdplanYoga(db, { logger: captured.logger, maxBodyBytes: 4096 }), '127.0.0.1', 0);
    base = server.url.replace(/\/graphql$/, '');
  });
  afterAll(async () => {
    await server.close();
  });

  it('/healthz says the process is up and /readyz that the database answers', async () => {
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    // Token lookups are cached only where token changes are announced (not on the embedded database).
    expect(await ready.json()).toEqual({ status: 'ready', auth: { tokenCache: databaseKind === 'embedded' ? 'off' : 'listening' } });
  });

  it('/metrics counts requests, GraphQL operations, SQL round trips and pool connections; every request is one JSON log line', async () => {
    const res = await gql(server.url, 'query FleetPage { hosts(first: 3) { edges { node { hostname } } } }');
    expect(res.status).toBe(200);
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^tdplan_http_requests_total\{route="\/graphql",status="200"\} [1-9]/m);
    expect(text).toMatch(/^tdplan_graphql_operations_total\{operation="query",outcome="ok"\} [1-9]/m);
    expect(text).toMatch(/^tdplan_graphql_sql_round_trips_count [1-9]/m);
    expect(text).toMatch(/^tdplan_db_pool_connections\{state="total"\} \d+/m);
    expect(text).toMatch(/^tdplan_process_resident_memory_bytes \d+/m);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'request', method: 'POST', path: '/graphql', status: 200, operation: 'FleetPage', durationMs: expect.any(Number) }),
    );
  });

  it('refuses a body over the limit with 413, and a body of unknown length with 411, before reading it', async () => {
    const big = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: `{ hosts { totalCount } }`, variables: { pad: 'x'.repeat(5000) } }),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE', limit: 4096 } }] });
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"query":"{ hosts { totalCount } }"}'));
        controller.close();
      },
    });
    const chunked = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(411);
    // and the server is fine
    expect((await gql(server.url, '{ hosts { totalCount } }')).status).toBe(200);
  });
});

describe('graceful shutdown', () => {
  it('lets an in-flight request finish, refuses new connections, and stops only then', async () => {
    const server = await listen(createTdplanYoga(db), '127.0.0.1', 0);
    // Hold the TD's row so the mutation below waits for it: an in-flight request we control.
    const blocker = await db.pool.connect();
    await blocker.query('BEGIN');
    await blocker.query(`SELECT id FROM td WHERE name = 'td-web-01' FOR UPDATE`);
    const inFlight = gql(server.url, 'mutation { updateTd(td: { name: "td-web-01" }, input: { vcpus: 5 }) { __typename } }');
    await new Promise((resolve) => setTimeout(resolve, 300));
    let stopped = false;
    const shutdown = server.shutdown(20_000).then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(fetch(server.url.replace('/graphql', '/healthz'))).rejects.toThrow();
    expect(stopped).toBe(false);
    await blocker.query('COMMIT');
    blocker.release();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ updateTd: { __typename: 'MutationUpdateTdSuccess' } });
    await shutdown;
    expect(stopped).toBe(true);
  });
});

describe('database outage', () => {
  it('fails fast and says so while the database is gone, recovers by itself, and loses no acknowledged write', async () => {
    const proxy = await startTcpProxy(db.url);
    const proxied = connectDatabase(proxy.url, databaseKind === 'embedded' ? { max: EMBEDDED_POOL_SIZE, embedded: true } : { max: 5 });
    const server = await listen(createTdplanYoga(proxied), '127.0.0.1', 0);
    const readyz = server.url.replace('/graphql', '/readyz');
    const acknowledged: string[] = [];
    let n = 0;
    const write = async (): Promise<{ status: number; code?: unknown; ms: number }> => {
      const name = `outage-${++n}`;
      const started = performance.now();
      const res = await gql(server.url, 'mutation($n: String!) { createTd(input: { name: $n, vcpus: 2 }) { __typename } }', { n: name });
      if ((res.body.data?.createTd as { __typename?: string } | undefined)?.__typename === 'MutationCreateTdSuccess') acknowledged.push(name);
      return { status: res.status, code: res.body.errors?.[0]?.extensions?.code, ms: performance.now() - started };
    };
    try {
      for (let i = 0; i < 10; i++) expect((await write()).status).toBe(200);

      proxy.cut();
      const during = await Promise.all(Array.from({ length: 6 }, () => write()));
      for (const r of during) {
        expect(r).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE' });
        expect(r.ms).toBeLessThan(5_000); // the pool's 3 s connection timeout, at most
      }
      const notReady = await fetch(readyz);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toMatchObject({ status: 'unavailable', reason: expect.stringContaining('database') });

      proxy.restore();
      const deadline = Date.now() + 15_000;
      while ((await fetch(readyz)).status !== 200) {
        if (Date.now() > deadline) throw new Error('not ready 15 s after the database came back');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      for (let i = 0; i < 5; i++) expect((await write()).status).toBe(200);

      const { rows } = await db.pool.query<{ name: string }>(`SELECT name FROM td WHERE name LIKE 'outage-%'`);
      const stored = new Set(rows.map((r) => r.name));
      expect(acknowledged.filter((name) => !stored.has(name))).toEqual([]);
      expect(acknowledged.length).toBe(15);
    } finally {
      await server.close();
      await proxied.close();
      await proxy.close();
    }
  });

  // Only PostgreSQL: holding a table lock from a second connection while the embedded database
  // serves one connection at a time would block the test itself.
  it.runIf(databaseKind === 'postgres')('an import that loses the database mid-transaction is DATABASE_UNAVAILABLE, not a document problem', async () => {
    const proxy = await startTcpProxy(db.url);
    const proxied = connectDatabase(proxy.url, { max: 5 });
    const server = await listen(createTdplanYoga(proxied), '127.0.0.1', 0);
    // The import's first query reads platform: a lock held elsewhere stops it there, inside its transaction.
    const locker = await db.pool.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE platform IN ACCESS EXCLUSIVE MODE');
      const importing = gql(server.url, 'mutation($d: JSONObject!) { importInventory(document: $d) { __typename } }', {
        d: { tds: [{ name: 'outage-import', vcpus: 2 }] },
      });
      const deadline = Date.now() + 10_000;
      while ((await locker.query(`SELECT 1 FROM pg_locks WHERE relation = 'platform'::regclass AND NOT granted`)).rowCount === 0) {
        if (Date.now() > deadline) throw new Error('the import never reached the locked table');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      proxy.cut();
      const res = await importing;
      expect({ status: res.status, code: res.body.errors?.[0]?.extensions?.code }).toEqual({ status: 503, code: 'DATABASE_UNAVAILABLE' });
      expect(res.body.data ?? null).toBeNull();
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
      await server.close();
      await proxied.close();
      await proxy.close();
    }
    expect((await db.pool.query(`SELECT 1 FROM td WHERE name = 'outage-import'`)).rowCount).toBe(0);
  });
});

describe('database fast shutdown', () => {
  // What `pg_ctl stop -m fast` does to a server's clients: every backend is terminated (SQLSTATE 57P01,
  // which Prisma wraps in P2039 for model queries), and new connections are refused until it is back.
  // Here: pg_terminate_backend on every connection to the test database, and the TCP proxy refusing.
  it.runIf(databaseKind === 'postgres')(
    'answers DATABASE_UNAVAILABLE (never a 500) to requests cut mid-query, in the token check and in writes, and loses no acknowledged write',
    async () => {
      const proxy = await startTcpProxy(db.url);
      const proxied = connectDatabase(proxy.url, { max: 20 });
      const server = await listen(createTdplanYoga(proxied), '127.0.0.1', 0);
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      const acknowledged: string[] = [];
      let n = 0;
      const write = async (): Promise<{ status: number; code?: unknown }> => {
        const name = `shutdown-${++n}`;
        const res = await gql(server.url, 'mutation($n: String!) { createTd(input: { name: $n, vcpus: 2 }) { __typename } }', { n: name });
        if ((res.body.data?.createTd as { __typename?: string } | undefined)?.__typename === 'MutationCreateTdSuccess') acknowledged.push(name);
        return { status: res.status, code: res.body.errors?.[0]?.extensions?.code };
      };
      // A token this server has not seen yet: its check is a database look-up (not the token cache's).
      const unseenToken = await tokenFor(db, 'VIEWER');
      const read = async (): Promise<{ status: number; code?: unknown }> => {
        const res = await gql(server.url, '{ hosts { totalCount } }', undefined, unseenToken);
        return { status: res.status, code: res.body.errors?.[0]?.extensions?.code };
      };
      try {
        for (let i = 0; i < 5; i++) expect((await write()).status).toBe(200);
        // Load caught mid-query: writes waiting on the td table, token checks waiting on api_token.
        await admin.query('BEGIN');
        await admin.query('LOCK TABLE td IN ACCESS EXCLUSIVE MODE');
        const writes = Array.from({ length: 6 }, () => write());
        await new Promise((resolve) => setTimeout(resolve, 300));
        await admin.query('LOCK TABLE api_token IN ACCESS EXCLUSIVE MODE');
        const reads = Array.from({ length: 6 }, () => read());
        await new Promise((resolve) => setTimeout(resolve, 300));

        const { rows } = await admin.query<{ terminated: boolean }>(
          'SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        expect(rows.length).toBeGreaterThan(0);
        for (const answer of await Promise.all([...writes, ...reads])) expect(answer).toEqual({ status: 503, code: 'DATABASE_UNAVAILABLE' });
        await admin.query('ROLLBACK');
        proxy.cut();
        expect((await fetch(server.url.replace('/graphql', '/readyz'))).status).toBe(503);

        proxy.restore();
        const deadline = Date.now() + 15_000;
        while ((await fetch(server.url.replace('/graphql', '/readyz'))).status !== 200) {
          if (Date.now() > deadline) throw new Error('not ready 15 s after the database came back');
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        for (let i = 0; i < 3; i++) expect((await write()).status).toBe(200);
        const stored = new Set((await admin.query<{ name: string }>(`SELECT name FROM td WHERE name LIKE 'shutdown-%'`)).rows.map((r) => r.name));
        expect(acknowledged.filter((name) => !stored.has(name))).toEqual([]);
        expect(acknowledged.length).toBe(8);
      } finally {
        await admin.end();
        await server.close();
        await proxied.close();
        await proxy.close();
      }
    },
    30_000,
  );
});

describe('pool saturation is not an outage', () => {
  it('with every pooled connection busy: /readyz stays 200, a request waits for a connection, and one that waits too long gets DEADLINE_EXCEEDED', async () => {
    const size = databaseKind === 'embedded' ? EMBEDDED_POOL_SIZE : 2;
    const small = connectDatabase(db.url, { max: size, acquireTimeoutMs: 1_500, embedded: databaseKind === 'embedded' });
    const server = await listen(createTdplanYoga(small), '127.0.0.1', 0);
    const held: pg.PoolClient[] = [];
    const holdAll = async (): Promise<void> => {
      for (let i = 0; i < size; i++) held.push(await small.pool.connect());
    };
    const releaseAll = (): void => {
      for (const client of held.splice(0)) client.release();
    };
    try {
      await holdAll();
      const ready = await fetch(server.url.replace('/graphql', '/readyz'));
      expect(ready.status).toBe(200);

      // A request waits for a connection rather than failing...
      const waiting = gql(server.url, '{ hosts { totalCount } }');
      setTimeout(releaseAll, 700);
      const served = await waiting;
      expect(served).toMatchObject({ status: 200, body: { data: { hosts: { totalCount: demoFleet().hosts.length } } } });

      // ...and when none is free for longer than it may wait, it is told so: not an outage.
      await holdAll();
      const started = performance.now();
      const late = await gql(server.url, '{ hosts { totalCount } }');
      expect(late.status).toBe(503);
      expect(late.body.errors?.[0]?.extensions?.code).toBe('DEADLINE_EXCEEDED');
      expect(performance.now() - started).toBeLessThan(5_000);
      releaseAll();
      expect((await gql(server.url, '{ hosts { totalCount } }')).status).toBe(200);
    } finally {
      releaseAll();
      await server.close();
      await small.close();
    }
  });

  it('a request past its deadline gets DEADLINE_EXCEEDED (503) at once', async () => {
    const server = await listen(createTdplanYoga(db, { requestTimeoutMs: 500 }), '127.0.0.1', 0);
    const blocker = await db.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT id FROM td WHERE name = 'td-web-02' FOR UPDATE`);
      const started = performance.now();
      const res = await gql(server.url, 'mutation { updateTd(td: { name: "td-web-02" }, input: { vcpus: 6 }) { __typename } }');
      expect(res.status).toBe(503);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('DEADLINE_EXCEEDED');
      expect(performance.now() - started).toBeLessThan(2_500);
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
      await server.close();
    }
  });

  it.runIf(databaseKind === 'postgres')('a statement past the statement timeout is cancelled by PostgreSQL and answered DEADLINE_EXCEEDED', async () => {
    const timed = connectDatabase(db.url, { statementTimeoutMs: 300 });
    const server = await listen(createTdplanYoga(timed), '127.0.0.1', 0);
    const blocker = await db.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`SELECT id FROM td WHERE name = 'td-web-02' FOR UPDATE`);
      const res = await gql(server.url, 'mutation { updateTd(td: { name: "td-web-02" }, input: { vcpus: 6 }) { __typename } }');
      expect(res.status).toBe(503);
      expect(res.body.errors?.[0]).toMatchObject({ extensions: { code: 'DEADLINE_EXCEEDED' }, message: expect.stringContaining('statement timeout') });
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
      await server.close();
      await timed.close();
    }
  });
});
