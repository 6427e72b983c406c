// listen()'s direct path (src/direct-graphql.ts) answers queries POSTed as JSON without yoga's HTTP
// layer, and hands everything else over to yoga. Both must answer every request as yoga alone
// does: each request here goes to a listening server and to yoga.fetch of the same server, and
// the two answers (status, media type, the headers clients act on, the body) must be equal; the
// server's counter says which path each took.
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { getOperationAST, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { QUERY_LIMITS } from '../../src/graphql/limits.js';
import { demoFleet } from '../../src/inventory/demo-fleet.js';
import { createTdplanYoga, EXAMPLE_QUERY, listen, type RunningServer, type ServerOptions, type TdplanYoga } from '../../src/server.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { importDocument } from '../support/import.js';
import { testCompiledExecution, tokenFor } from '../support/server.js';

let db: TestDatabase;
let token: string;
const servers: RunningServer[] = [];
const CORS_ORIGIN = 'https://planner.example.com';

beforeAll(async () => {
  db = await createTestDatabase();
  expect(await importDocument(db, demoFleet(), 'REPLACE')).toMatchObject({ ok: true });
  token = await tokenFor(db, 'ADMIN');
});
afterAll(async () => {
  for (const server of servers) await server.close();
  await db.destroy();
});

async function serve(options: ServerOptions = {}): Promise<{ yoga: TdplanYoga; url: string }> {
  const yoga = createTdplanYoga(db, { compiledExecution: testCompiledExecution(), corsOrigins: [CORS_ORIGIN], ...options });
  const server = await listen(yoga, '127.0.0.1', 0);
  servers.push(server);
  return { yoga, url: server.url };
}

type Path = 'answered' | 'handed_over' | 'yoga';

interface Case {
  name: string;
  path: Path;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

const json = (params: unknown): string => JSON.stringify(params);
const bearer = (): Record<string, string> => ({ authorization: `Bearer ${token}` });
const JSON_POST = { 'content-type': 'application/json' };

/** A POST of `params` as JSON with the test's token, `headers` beside (or instead of the JSON content type). */
const post = (name: string, path: Path, params: unknown, headers: Record<string, string> = {}): Case => ({
  name,
  path,
  headers: { ...JSON_POST, ...headers, ...bearer() },
  body: json(params),
});

/** A POST to the server's /graphql with the test's token, sent by hand (its body, Host and timing are the caller's). */
function rawPost(url: URL, headers: Record<string, string>): http.ClientRequest {
  return http.request({ host: url.hostname, port: url.port, path: '/graphql', method: 'POST', headers: { ...JSON_POST, ...bearer(), ...headers } });
}

/** What a client sees of an answer. */
async function answerOf(response: Response): Promise<Record<string, unknown>> {
  const type = response.headers.get('content-type');
  const text = await response.text();
  const headers = Object.fromEntries(
    ['content-type', 'www-authenticate', 'retry-after', 'allow', 'accept', 'access-control-allow-origin', 'tdplan-write-lsn'].map((h) => [
      h,
      response.headers.get(h),
    ]),
  );
  return { status: response.status, headers, body: type?.includes('json') && text ? JSON.parse(text) : text };
}

async function directCounts(yoga: TdplanYoga): Promise<{ answered: number; handed_over: number }> {
  const { values } = await yoga.ops.metrics.directGraphql.get();
  const count = (outcome: string): number => values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  return { answered: count('answered'), handed_over: count('handed_over') };
}

/** The same request through the listening server and through yoga.fetch: equal answers, and the path it took. */
async function compare(server: { yoga: TdplanYoga; url: string }, c: Case): Promise<void> {
  const init = { method: c.method ?? 'POST', headers: c.headers ?? {}, body: c.body };
  const before = await directCounts(server.yoga);
  const overHttp = await answerOf(await fetch(server.url, init));
  const after = await directCounts(server.yoga);
  const taken: Path = after.answered > before.answered ? 'answered' : after.handed_over > before.handed_over ? 'handed_over' : 'yoga';
  const byYoga = await answerOf(await server.yoga.fetch('http://localhost/graphql', init));
  expect(overHttp, c.name).toEqual(byYoga);
  expect(taken, c.name).toBe(c.path);
}

describe('the direct path', () => {
  it('answers queries as yoga does: README examples, GraphiQL default, variables, errors, media types', async () => {
    const server = await serve();
    const readme = await readFile(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    const queries = [EXAMPLE_QUERY, ...[...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!)].filter(
      (q) => getOperationAST(parse(q))?.operation === 'query',
    );
    expect(queries.length).toBeGreaterThanOrEqual(4);
    const hostQuery = 'query One($h: String!) { host(hostname: $h) { hostname presentCpus tds(first: 5) { totalCount edges { node { name } } } } }';
    const hostname = demoFleet().hosts[0]!.hostname;
    const cases: Case[] = [
      ...queries.map((query, i) => post(`example ${i}`, 'answered', { query })),
      ...queries.map((query, i) => post(`example ${i}, graphql-response+json`, 'answered', { query }, { accept: 'application/graphql-response+json' })),
      post('variables and operationName', 'answered', { query: hostQuery, variables: { h: hostname }, operationName: 'One' }, { accept: '*/*' }),
      post('charset', 'answered', { query: '{ __typename }' }, { 'content-type': 'application/json; charset=utf-8', accept: 'application/json' }),
      post('null variables and operationName', 'answered', { query: '{ __typename }', variables: null, operationName: null }),
      post('an Origin without CORS', 'answered', { query: '{ __typename }' }, { origin: 'https://elsewhere.example' }),
      post('a resolver refuses an argument', 'answered', { query: '{ hosts(first: -1) { totalCount } }' }),
      post(
        'a malformed cursor, graphql-response+json',
        'answered',
        { query: '{ hosts(first: 1, after: "zzz") { totalCount } }' },
        { accept: 'application/graphql-response+json' },
      ),
      post('a variable of the wrong type', 'answered', { query: hostQuery, variables: { h: 5 } }),
      post('a missing variable, graphql-response+json', 'answered', { query: hostQuery }, { accept: 'application/graphql-response+json' }),
      post('no such host', 'answered', { query: hostQuery, variables: { h: 'nowhere' } }),
      // Handed over to yoga once the body is read.
      post('does not parse', 'handed_over', { query: '{ hosts(' }),
      post('does not validate', 'handed_over', { query: '{ nope }' }, { accept: 'application/graphql-response+json' }),
      post('too many aliases', 'handed_over', {
        query: `{ ${Array.from({ length: QUERY_LIMITS.aliases + 1 }, (_, i) => `a${i}: fleetSummary { hosts }`).join(' ')} }`,
      }),
      post('two operations, none named', 'handed_over', { query: 'query A { __typename } query B { __typename }' }),
      post('a mutation', 'handed_over', { query: 'mutation { deleteTd(td: { name: "no-such-td" }) { __typename } }' }),
      post('extensions', 'handed_over', { query: '{ __typename }', extensions: {} }),
      post('an unexpected parameter', 'handed_over', { query: '{ __typename }', foo: 1 }),
      post('a query that is not a string', 'handed_over', { query: 5 }),
      post('variables that are not an object', 'handed_over', { query: '{ __typename }', variables: [1] }),
      post('a batch', 'handed_over', [{ query: '{ __typename }' }]),
      { name: 'not JSON', path: 'handed_over', headers: { ...JSON_POST, ...bearer() }, body: '{"query": ' },
      // Refused before the body is read: the same refusals on both paths, nothing counted.
      { name: 'no token', path: 'yoga', headers: { ...JSON_POST }, body: json({ query: '{ __typename }' }) },
      { name: 'a wrong token', path: 'yoga', headers: { ...JSON_POST, authorization: 'Bearer tdp_nope' }, body: json({ query: '{ __typename }' }) },
      // yoga's from the headers.
      post('Accept text/html', 'yoga', { query: '{ __typename }' }, { accept: 'text/html' }),
      post('an Accept list', 'yoga', { query: '{ __typename }' }, { accept: 'application/graphql-response+json, application/json;q=0.9' }),
      post('Application/JSON', 'yoga', { query: '{ __typename }' }, { 'content-type': 'Application/JSON' }),
      post('application/graphql+json', 'yoga', { query: '{ __typename }' }, { 'content-type': 'application/graphql+json' }),
      post('a CORS origin', 'yoga', { query: '{ __typename }' }, { origin: CORS_ORIGIN }),
      { name: 'GET', path: 'yoga', method: 'GET', headers: { ...bearer() } },
    ];
    for (const c of cases) await compare(server, c);
  });

  it('runs a mutation it hands over exactly once', async () => {
    const server = await serve();
    const name = `DIRECT-${Date.now()}`;
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { ...JSON_POST, ...bearer() },
      body: json({ query: `mutation { createPlatform(input: { name: "${name}", sockets: 2, coresPerSocket: 8, threadsPerCore: 2 }) { __typename } }` }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { createPlatform: { __typename: 'MutationCreatePlatformSuccess' } } });
    expect(await db.prisma.platform.count({ where: { name } })).toBe(1);
  });

  it('refuses a Host that makes no URL with 400, on every path, and its token keeps its place', async () => {
    const server = await serve({ tokenLimits: { maxConcurrent: 1, requestsPerSecond: 0 } });
    const url = new URL(server.url);
    const raw = (host: string, body: string): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = rawPost(url, { host, 'content-length': String(Buffer.byteLength(body)) });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    for (const host of ['localhost:99999', '1.2.3.999', '[1:2]', 'a/b', 'user@host']) {
      for (const body of [json({ query: '{ __typename }' }), json({ query: 'mutation { deleteTd(td: { name: "no-such-td" }) { __typename } }' })]) {
        const answer = await raw(host, body);
        expect(answer.status, host).toBe(400);
        expect(JSON.parse(answer.body), host).toMatchObject({ errors: [{ extensions: { code: 'BAD_REQUEST' } }] });
      }
    }
    expect((await raw(`${url.hostname}:${url.port}`, json({ query: '{ __typename }' }))).status).toBe(200);
  });

  it("keeps a request's place while it runs and frees it when a client leaves during its token check", async () => {
    const server = await serve({ tokenLimits: { maxConcurrent: 1, requestsPerSecond: 0 } });
    const url = new URL(server.url);
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    // A client that sends its whole request and leaves once `now()` says so.
    const leave = (body: string, now: () => boolean): Promise<void> =>
      new Promise((resolve) => {
        const req = rawPost(url, { 'content-length': String(Buffer.byteLength(body)) });
        req.on('error', () => resolve());
        req.end(body);
        const poll = setInterval(() => {
          if (!now()) return;
          clearInterval(poll);
          req.destroy();
          resolve();
        }, 5);
      });
    const ask = async (): Promise<number> =>
      (await fetch(server.url, { method: 'POST', headers: { ...JSON_POST, ...bearer() }, body: json({ query: '{ __typename }' }) })).status;
    const tokens = server.yoga.ops.tokens;
    // A slow token check (a cache miss on a busy database): the client leaves during it.
    const authenticate = tokens.authenticate.bind(tokens);
    const check = vi.spyOn(tokens, 'authenticate');
    let checking = false;
    check.mockImplementation(async (token) => {
      checking = true;
      await sleep(300);
      return authenticate(token);
    });
    // It leaves while its token is being checked.
    await leave(json({ query: '{ __typename }' }), () => checking);
    await sleep(400);
    check.mockRestore();
    expect([await ask(), await ask()]).toEqual([200, 200]);
    // A slow execution: the client leaves while it runs; it keeps its place until it is done.
    const { pool } = server.yoga.ops.db;
    const original = pool.query.bind(pool);
    const query = vi.spyOn(pool, 'query');
    let running = false;
    // The TD look-up (only that statement) is slow.
    query.mockImplementation(((...args: Parameters<typeof pool.query>) => {
      const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string }).text;
      if (!text?.includes('FROM td t WHERE')) return (original as (...a: unknown[]) => unknown)(...args);
      running = true;
      return sleep(600).then(() => (original as (...a: unknown[]) => unknown)(...args));
    }) as typeof pool.query);
    const tdName = demoFleet().tds[0]!.name;
    // It leaves while its query runs.
    await leave(json({ query: `{ td(name: "${tdName}") { name } }` }), () => running);
    query.mockRestore();
    expect(await ask()).toBe(429);
    await sleep(700);
    expect(await ask()).toBe(200);
  });

  it("frees the token's place whichever way a request ends: answered, handed over, or cut off mid-body", async () => {
    const server = await serve({ tokenLimits: { maxConcurrent: 1, requestsPerSecond: 0 } });
    const url = new URL(server.url);
    const ask = async (body: string): Promise<number> => (await fetch(server.url, { method: 'POST', headers: { ...JSON_POST, ...bearer() }, body })).status;
    const cutOff = (): Promise<void> =>
      new Promise((resolve) => {
        const req = rawPost(url, { 'content-length': '1000' });
        req.on('error', () => resolve());
        req.write('{"query": "{ __typ');
        // Long enough for the server to admit it and wait for the rest of the body.
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 200);
      });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(await ask(json({ query: '{ __typename }' })));
      statuses.push(await ask(json({ query: '{ nope }' })));
      await cutOff();
      // The cut-off request's place is freed when its connection closes, which the server sees a moment later.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    statuses.push(await ask(json({ query: '{ __typename }' })));
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200]);
    expect(await directCounts(server.yoga)).toEqual({ answered: 4, handed_over: 3 });
  });
});
