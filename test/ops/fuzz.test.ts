// Malformed input of every kind, through a real port: never a 5xx caused by input, never a stack
// trace or a schema hint in the answer, and the server keeps answering.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFleet } from '../../src/inventory/demo-fleet.js';
import { importDocument } from '../support/import.js';
import { createTdplanYoga, listen, type RunningServer } from '../../src/server.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { tokenFor } from '../support/server.js';

let db: TestDatabase;
let server: RunningServer;
let token: string;

beforeAll(async () => {
  db = await createTestDatabase();
  expect(await importDocument(db, demoFleet(), 'REPLACE')).toMatchObject({ ok: true });
  token = await tokenFor(db, 'ADMIN');
  server = await listen(createTdplanYoga(db, { maxBodyBytes: 256 * 1024 }), '127.0.0.1', 0);
});
afterAll(async () => {
  await server.close();
  await db.destroy();
});

async function post(body: string, contentType = 'application/json', auth = true): Promise<{ status: number; text: string }> {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': contentType, accept: 'application/graphql-response+json', ...(auth ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  return { status: response.status, text: await response.text() };
}

function expectSane(res: { status: number; text: string }, what: unknown): void {
  expect(res.status, JSON.stringify(what)).toBeLessThan(500);
  expect(res.text, JSON.stringify(what)).not.toMatch(/\n\s+at |"stack"|Did you mean/);
}

const jsonValue = fc.jsonValue({ maxDepth: 4 });

describe('fuzzing the HTTP API', () => {
  it('malformed bodies and content types', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          jsonValue.map((v) => JSON.stringify(v)),
          fc.constant('{"query":'),
          fc.constant(''),
        ),
        fc.constantFrom('application/json', 'text/plain', 'application/graphql', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'),
        async (body, contentType) => expectSane(await post(body, contentType), { body, contentType }),
      ),
      { numRuns: 150 },
    );
  });

  it('random query strings and random variables for real operations', async () => {
    const real = [
      'query($n: String!) { host(hostname: $n) { hostname kvmCapMaxVcpus } }',
      'query($v: Int!, $f: Int, $a: String) { placementCandidates(vcpus: $v, first: $f, after: $a) { totalCount edges { node { hostname } } } }',
      'mutation($i: CreateHostInput!) { createHost(input: $i) { __typename } }',
      'mutation($t: TdRef!, $h: HostRef!) { placeTd(td: $t, host: $h) { __typename } }',
      'query($c: WhatIfChangesInput!) { whatIf(changes: $c) { hostsLosingTdx { totalCount } } }',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 200 }), fc.constantFrom(...real)),
        fc.oneof(fc.dictionary(fc.constantFrom('n', 'v', 'f', 'a', 'i', 't', 'h', 'c'), jsonValue), jsonValue),
        async (query, variables) => expectSane(await post(JSON.stringify({ query, variables })), { query, variables }),
      ),
      { numRuns: 200 },
    );
  });

  it('random inventory documents to importInventory are refused with their problems, or change nothing', async () => {
    const before = (await db.pool.query('SELECT count(*)::int AS n FROM host')).rows[0] as { n: number };
    const host = fc.record(
      { hostname: fc.string(), platform: fc.string(), kernel: fc.string(), presentCpus: jsonValue, guestKeyIds: jsonValue },
      { requiredKeys: [] },
    );
    const document = fc.oneof(
      jsonValue,
      fc.record({ hosts: fc.array(host, { maxLength: 3 }), tds: fc.array(jsonValue, { maxLength: 3 }) }, { requiredKeys: [] }),
    );
    await fc.assert(
      // (REPLACE is left out: a valid empty document legitimately empties the inventory.)
      fc.asyncProperty(document, fc.constantFrom('MERGE', 'BOGUS'), async (doc, mode) => {
        const res = await post(
          JSON.stringify({
            query: 'mutation($d: JSONObject!, $m: ImportMode) { importInventory(document: $d, mode: $m) { __typename } }',
            variables: { d: doc, m: mode },
          }),
        );
        expectSane(res, { doc, mode });
      }),
      { numRuns: 150 },
    );
    expect((await db.pool.query('SELECT count(*)::int AS n FROM host')).rows[0]).toEqual(before);
  });

  it('oversized and pathological input: huge strings, deep JSON, many operations', async () => {
    expectSane(await post(JSON.stringify({ query: `{ host(hostname: "${'h'.repeat(200_000)}") { hostname } }` })), 'long string');
    expectSane(await post(`{"query":"query($x: [Int]) { hosts { totalCount } }","variables":{"x":${'['.repeat(5000)}${']'.repeat(5000)}}}`), 'deep variables');
    expectSane(await post(`{"query": ${'['.repeat(100_000)}`), 'deep JSON');
    expectSane(await post(JSON.stringify({ query: Array.from({ length: 500 }, (_, i) => `query q${i} { me { name } }`).join('\n') })), 'many operations');
    // an input type's unknown field: graphql-js would suggest the right one
    expectSane(
      await post(JSON.stringify({ query: 'mutation($t: TdRef!, $h: HostRef!) { placeTd(td: $t, host: $h) { __typename } }', variables: { t: { d: null } } })),
      'suggestion',
    );
    expectSane(await post(JSON.stringify({ query: '{ hosts(filter: { tdxDisabledReason: NO_MODUL }) { totalCount } }' })), 'enum suggestion');
    const tooBig = await post(JSON.stringify({ query: '{ hosts { totalCount } }', pad: 'x'.repeat(300 * 1024) }));
    expect(tooBig.status).toBe(413);
    expectSane(await post('{"query":"{ me { name } }"}', 'application/json', false), 'no token');
  });

  it('random cursors on every kind of list: a page or VALIDATION_FAILED, never a 5xx', async () => {
    const lists = [
      'query($a: String) { hosts(first: 2, after: $a) { totalCount } }',
      'query($a: String) { placementCandidates(vcpus: 4, first: 2, after: $a) { totalCount } }',
      'query($a: String) { whatIf(changes: {}) { hostsLosingTdx(first: 2, after: $a) { totalCount } } }',
    ];
    const cursorText = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc
        .tuple(fc.constantFrom('fit', 'GPC:N', 'offset', 'GPC:T'), fc.array(fc.oneof(fc.integer(), fc.bigInt(), fc.string()), { maxLength: 4 }))
        .map(([tag, parts]) => [tag, ...parts].join(':')),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...lists),
        fc.oneof(
          cursorText.map((t) => Buffer.from(t).toString('base64url')),
          fc.string(),
        ),
        async (query, cursor) => {
          const res = await post(JSON.stringify({ query, variables: { a: cursor } }));
          expectSane(res, { query, cursor });
          const body = JSON.parse(res.text) as { errors?: { extensions?: { code?: string } }[] };
          for (const e of body.errors ?? []) expect(e.extensions?.code, JSON.stringify({ query, cursor })).toBe('VALIDATION_FAILED');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('random names: created or refused with a ValidationError on name, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 300 }), async (name) => {
        const res = await post(
          JSON.stringify({
            query: 'mutation($n: String!) { createTd(input: { name: $n, vcpus: 1 }) { __typename ... on ValidationError { problems { field } } } }',
            variables: { n: name },
          }),
        );
        expectSane(res, { name });
        const result = (JSON.parse(res.text) as { data?: { createTd?: { __typename: string; problems?: { field: string }[] } } }).data?.createTd;
        expect(['MutationCreateTdSuccess', 'ValidationError', 'ConflictError'], JSON.stringify(name)).toContain(result?.__typename);
        if (result?.__typename === 'ValidationError') expect(result.problems, JSON.stringify(name)).toEqual([{ field: 'name' }]);
      }),
      { numRuns: 150 },
    );
  });

  it('still answers after all that', async () => {
    const res = await post(JSON.stringify({ query: '{ hosts { totalCount } }' }));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ data: { hosts: { totalCount: 17 } } });
  });
});
