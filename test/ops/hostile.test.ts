// Hostile input through a real port (issue 16): work before authentication, oversized and
// malformed bodies, cross-origin requests, expensive lists, and per-token limits.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFleet } from '../../src/inventory/demo-fleet.js';
import { inventoryJsonSchema } from '../../src/inventory/document.js';
import { NAME_MAX_LENGTH, NAME_PATTERN } from '../../src/inventory/validation.js';
import { importDocument } from '../support/import.js';
import { createTdplanYoga, listen, type RunningServer, type ServerOptions } from '../../src/server.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { tokenFor } from '../support/server.js';

let db: TestDatabase;
let token: string;
const servers: RunningServer[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  expect(await importDocument(db, demoFleet(), 'REPLACE')).toMatchObject({ ok: true });
  token = await tokenFor(db, 'VIEWER');
});
afterAll(async () => {
  for (const server of servers) await server.close();
  await db.destroy();
});

async function serve(options: ServerOptions = {}): Promise<string> {
  const server = await listen(createTdplanYoga(db, options), '127.0.0.1', 0);
  servers.push(server);
  return server.url;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

async function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body,
  });
  const text = await response.text();
  let json: Answer['json'] = {};
  try {
    json = JSON.parse(text) as Answer['json'];
  } catch {
    // not JSON: the test looks at the text
  }
  return { status: response.status, headers: response.headers, text, json };
}

const auth = (): Record<string, string> => ({ authorization: `Bearer ${token}` });

describe('authentication comes first', () => {
  it('answers a caller without a valid token with 401 before reading the body, and says nothing about the schema', async () => {
    const url = await serve();
    for (const headers of [{}, { authorization: 'Bearer tdp_unknown' }, { authorization: 'Basic eDp5' }] as Record<string, string>[]) {
      const invalid = await post(url, JSON.stringify({ query: 'mutation { importInventory(x: 1) { __typename } }' }), headers);
      expect(invalid.status).toBe(401);
      expect(invalid.json.errors).toEqual([{ message: expect.any(String), extensions: { code: 'UNAUTHENTICATED' } }]);
      expect(invalid.text).not.toMatch(/importInventory|argument|document|Unknown|ImportMode/);
      const malformed = await post(url, '{"query": ', headers);
      expect(malformed.status).toBe(401);
    }
  });

  it('never reads the body of an unauthenticated request: a declared 20 MB body that is never sent is answered at once', async () => {
    const url = new URL(await serve());
    const started = performance.now();
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: '/graphql',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': String(20_000_000) },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on('error', reject);
      req.write('{"query":"'); // and nothing more: a server waiting for the body would never answer
    });
    expect(status).toBe(401);
    expect(performance.now() - started).toBeLessThan(2_000);
  }, 5_000);
});

describe('malformed and large bodies', () => {
  it('does not echo a malformed JSON body', async () => {
    const url = await serve();
    const garbage = `{"query": "${'x'.repeat(1_000_000)}`;
    const res = await post(url, garbage, auth());
    expect(res.status).toBe(400);
    expect(res.text.length).toBeLessThan(1_000);
    expect(res.json.errors?.[0]).toEqual({ message: 'POST body sent invalid JSON.', extensions: { code: 'BAD_REQUEST' } });
  });
});

describe('the body limit', () => {
  it('is the documented 64 MiB by default: a 30 MB request is served', async () => {
    const url = await serve();
    const res = await post(url, JSON.stringify({ query: '{ hosts { totalCount } }', variables: { pad: 'x'.repeat(30_000_000) } }), auth());
    expect(res.status).toBe(200);
    expect(res.json.data).toEqual({ hosts: { totalCount: demoFleet().hosts.length } });
  });
});

describe('cross-origin requests', () => {
  const preflight = (url: string, origin: string): Promise<Response> =>
    fetch(url, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });

  it('by default gives no origin CORS headers (same-origin only)', async () => {
    const url = await serve();
    const options = await preflight(url, 'https://evil.example');
    expect(options.headers.get('access-control-allow-origin')).toBeNull();
    expect(options.headers.get('access-control-allow-credentials')).toBeNull();
    const res = await post(url, JSON.stringify({ query: '{ me { name } }' }), { ...auth(), origin: 'https://evil.example' });
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows exactly the configured origins', async () => {
    const url = await serve({ corsOrigins: ['https://planner.example', 'https://ops.example'] });
    const allowed = await preflight(url, 'https://ops.example');
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://ops.example');
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const res = await post(url, JSON.stringify({ query: '{ me { name } }' }), { ...auth(), origin: 'https://planner.example' });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://planner.example');
    const refused = await preflight(url, 'https://evil.example');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    expect(refused.headers.get('access-control-allow-credentials')).toBeNull();
  });
});

describe('cost counts what a query returns', () => {
  it('nodes(ids:) costs each ID, and takes at most 100', async () => {
    const url = await serve();
    const page = await post(url, JSON.stringify({ query: '{ hosts(first: 2) { edges { node { id } } } }' }), auth());
    const ids = (page.json.data as { hosts: { edges: { node: { id: string } }[] } }).hosts.edges.map((e) => e.node.id);
    const query = 'query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Host { hostname } } }';

    const two = await post(url, JSON.stringify({ query, variables: { ids } }), auth());
    expect(two.json).toEqual({ data: { nodes: [expect.objectContaining({ id: ids[0] }), expect.objectContaining({ id: ids[1] })] } });

    const started = performance.now();
    const many = await post(url, JSON.stringify({ query, variables: { ids: Array.from({ length: 100_000 }, (_, i) => ids[i % 2]) } }), auth());
    expect(many.json.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', kind: 'complexity', limit: 20_000 });
    expect(many.json.data ?? null).toBeNull();
    expect(performance.now() - started).toBeLessThan(10_000); // refused before any of it is loaded

    const overBound = await post(
      url,
      JSON.stringify({ query: 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', variables: { ids: Array.from({ length: 101 }, (_, i) => ids[i % 2]) } }),
      auth(),
    );
    expect(overBound.json.errors?.[0]?.extensions).toMatchObject({
      code: 'VALIDATION_FAILED',
      problems: [{ field: 'ids', message: expect.stringContaining('at most 100') }],
    });
  });

  it('inventoryDocument is priced as the whole inventory it returns: three in one query are refused', async () => {
    const url = await serve();
    const one = await post(url, JSON.stringify({ query: '{ inventoryDocument }' }), auth());
    expect(one.status).toBe(200);
    expect(Object.keys((one.json.data as { inventoryDocument: object }).inventoryDocument)).toContain('hosts');
    const three = await post(url, JSON.stringify({ query: '{ a: inventoryDocument b: inventoryDocument c: inventoryDocument }' }), auth());
    expect(three.json.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', kind: 'complexity' });
    expect(three.json.data ?? null).toBeNull();
  });
});

describe('per-token limits', () => {
  it('refuses a token over its concurrent requests with 429 and Retry-After, while other tokens are served', async () => {
    const url = new URL(await serve({ tokenLimits: { maxConcurrent: 2, requestsPerSecond: 0 } }));
    const other = await tokenFor(db, 'VIEWER');
    // Two requests in flight that we control: admitted, then their bodies arrive slowly.
    const body = JSON.stringify({ query: '{ hosts { totalCount } }' });
    interface Held {
      /** The status it was answered with, or 0 when its connection was cut; pending while held. */
      answer: Promise<number>;
      settled: boolean;
      finish(): void;
    }
    const hold = (): Held => {
      let finish = (): void => undefined;
      const held: Held = { answer: Promise.resolve(0), settled: false, finish: () => finish() };
      held.answer = new Promise<number>((resolve) => {
        const req = http.request(
          {
            host: url.hostname,
            port: url.port,
            path: '/graphql',
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...auth() },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        // A refusal closes the connection while our body is unsent: the client may see the reset
        // before the 429, as an error. Either way this request is not in flight.
        req.on('error', () => resolve(0));
        req.write(body.slice(0, 5));
        finish = () => req.end(body.slice(5));
      }).finally(() => (held.settled = true));
      return held;
    };
    const slow = [hold(), hold()];
    const deadline = Date.now() + 20_000;
    let third: Answer;
    // The held requests are admitted once their token is checked; until then a probe may pass. A
    // probe in flight at that moment takes a slot, and a held request is then refused: hold another.
    do {
      for (const [i, s] of slow.entries()) if (s.settled) slow[i] = hold();
      third = await post(url.toString(), body, auth());
    } while (third.status === 200 && Date.now() < deadline);
    expect(slow.every((s) => !s.settled)).toBe(true);
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('1');
    expect(third.json.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'concurrency', value: 2 });
    const otherToken = await post(url.toString(), body, { authorization: `Bearer ${other}` });
    expect(otherToken.status).toBe(200);
    for (const s of slow) s.finish();
    for (const s of slow) expect(await s.answer).toBe(200);
    expect((await post(url.toString(), body, auth())).status).toBe(200);
  });

  it('refuses a token over its requests per second with 429 and Retry-After, and admits it again a moment later', async () => {
    const url = await serve({ tokenLimits: { maxConcurrent: 0, requestsPerSecond: 5 } });
    const query = JSON.stringify({ query: '{ me { name } }' });
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 12 }, () => post(url, query, auth())));
    const elapsedMs = performance.now() - started;
    const served = answers.filter((a) => a.status === 200).length;
    expect(served).toBeGreaterThanOrEqual(5);
    // a burst of 5, then one more every 200 ms
    expect(served).toBeLessThanOrEqual(5 + Math.ceil(elapsedMs / 200));
    expect(served).toBeLessThan(12);
    const refused = answers.find((a) => a.status === 429);
    expect(refused?.headers.get('retry-after')).toBe('1');
    expect(refused?.json.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', limit: 'rate', value: 5 });
    const other = await tokenFor(db, 'VIEWER');
    expect((await post(url, query, { authorization: `Bearer ${other}` })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await post(url, query, auth())).status).toBe(200);
  });
});

describe('numbers out of range in an import', () => {
  it('names the field of a number PostgreSQL cannot store (tds[0].vcpus), not "(database)"', async () => {
    const url = await serve();
    const admin = await tokenFor(db, 'ADMIN');
    const document = { tds: [{ name: 'td-huge', vcpus: 2_147_483_648 }] };
    const res = await post(
      url,
      JSON.stringify({
        query: 'mutation($d: JSONObject!) { importInventory(document: $d) { __typename ... on ValidationError { problems { field message } } } }',
        variables: { d: document },
      }),
      { authorization: `Bearer ${admin}` },
    );
    expect(res.json.data?.importInventory).toEqual({
      __typename: 'ValidationError',
      problems: [{ field: 'tds[0].vcpus', message: expect.stringContaining('2147483647') }],
    });
  });
});

describe('an import leaves the database ready to plan', () => {
  it('analyzes the inventory tables after an import through the API', async () => {
    const url = await serve();
    const admin = await tokenFor(db, 'ADMIN');
    const before = await db.pool.query<{ now: Date }>('SELECT clock_timestamp() AS now');
    const document = { ...demoFleet(), tds: [...demoFleet().tds, { name: 'td-analyzed', vcpus: 2 }] };
    const res = await post(
      url,
      JSON.stringify({ query: 'mutation($d: JSONObject!) { importInventory(document: $d) { __typename } }', variables: { d: document } }),
      {
        authorization: `Bearer ${admin}`,
      },
    );
    expect(res.json.data?.importInventory).toEqual({ __typename: 'ImportInventorySuccess' });
    const { rows } = await db.pool.query<{ relname: string; analyzed: boolean }>(
      `SELECT relname, coalesce(last_analyze >= $1, false) AS analyzed FROM pg_stat_user_tables
       WHERE relname IN ('platform', 'tdx_module', 'module_platform', 'kernel', 'host', 'td') ORDER BY relname`,
      [before.rows[0]!.now],
    );
    expect(rows).toEqual(['host', 'kernel', 'module_platform', 'platform', 'td', 'tdx_module'].map((relname) => ({ relname, analyzed: true })));
  });
});

describe('cursors', () => {
  const b64 = (text: string): string => Buffer.from(text).toString('base64url');
  const refusal = (field = 'after'): unknown =>
    expect.objectContaining({
      message: `${field}: is not a cursor of this list`,
      extensions: { code: 'VALIDATION_FAILED', problems: [{ field, message: 'is not a cursor of this list' }] },
    });

  it('refuses garbage, out-of-range and foreign cursors with the same ValidationError on every list', async () => {
    const url = await serve();
    const planner = await tokenFor(db, 'PLANNER'); // whatIf is for planners
    const ask = async (query: string, variables: Record<string, unknown>): Promise<Answer> =>
      post(url, JSON.stringify({ query, variables }), { authorization: `Bearer ${planner}` });
    const lists = {
      hosts: 'query($a: String) { hosts(first: 2, after: $a) { totalCount } }',
      modules: 'query($a: String) { modules(first: 2, after: $a) { totalCount } }',
      candidates: 'query($a: String) { placementCandidates(vcpus: 4, first: 2, after: $a) { totalCount edges { node { hostname } } } }',
      whatIf: 'query($a: String) { whatIf(changes: {}) { hostsLosingTdx(first: 2, after: $a) { totalCount } } }',
    };
    const candidateCursor = b64('fit:0:1:1');
    const bad = [
      'garbage',
      'Zml0OjIxNDc0ODM2NDc6MTox' /* fit:2147483647:1:1, out of range once the TD's size is added */,
      b64('fit:99999999999:1:1'),
      b64('GPC:N:99999999999'),
      b64('offset:-1'),
      '',
    ];
    for (const [list, query] of Object.entries(lists)) {
      for (const cursor of bad) {
        const res = await ask(query, { a: cursor });
        if (list === 'candidates' && cursor === 'Zml0OjIxNDc0ODM2NDc6MTox') {
          // a well-formed key past the last host: an empty page, not an error
          expect(res.json.errors, `${list} ${cursor}`).toBeUndefined();
          continue;
        }
        expect(res.status, `${list} ${cursor}`).toBeLessThan(500);
        expect(res.json.errors, `${list} ${cursor}`).toEqual([refusal()]);
      }
    }
    // a cursor of another list is refused the same way
    expect((await ask(lists.hosts, { a: candidateCursor })).json.errors).toEqual([refusal()]);
    expect((await ask(lists.candidates, { a: b64('GPC:N:1') })).json.errors).toEqual([refusal()]);
    expect((await ask(lists.whatIf, { a: b64('GPC:N:1') })).json.errors).toEqual([refusal()]);
    // and `before` is named as `before`
    expect((await ask('query($b: String) { hosts(last: 2, before: $b) { totalCount } }', { b: 'garbage' })).json.errors).toEqual([refusal('before')]);
  });
});

describe('names', () => {
  const bad: [string, RegExp][] = [
    ['td\u0000nul', /control characters.*U\+0000/],
    ['td\ud800lone', /lone surrogate U\+D800/],
    ['td\nnewline', /control characters.*U\+000A/],
    ['td\u001b[31mred', /control characters.*U\+001B/],
    ['td\u2028sep', /control characters.*U\+2028/],
    [' td-leading', /begin or end with a space/],
    ['td-trailing ', /begin or end with a space/],
    ['t'.repeat(254), /at most 253 characters, got 254/],
    ['   ', /must not be blank/],
  ];

  it('the API refuses what is not a valid name with a ValidationError naming the field, and stores nothing', async () => {
    const url = await serve();
    const admin = { authorization: `Bearer ${await tokenFor(db, 'ADMIN')}` };
    const create = (name: string): Promise<Answer> =>
      post(
        url,
        JSON.stringify({
          query: 'mutation($n: String!) { createTd(input: { name: $n, vcpus: 2 }) { __typename ... on ValidationError { problems { field message } } } }',
          variables: { n: name },
        }),
        admin,
      );
    const count = async (): Promise<number> => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM td')).rows[0]!.n;
    const before = await count();
    for (const [name, message] of bad) {
      const res = await create(name);
      expect(res.status, JSON.stringify(name)).toBe(200);
      expect(res.json.data?.createTd, JSON.stringify(name)).toEqual({
        __typename: 'ValidationError',
        problems: [{ field: 'name', message: expect.stringMatching(message) }],
      });
      // a lookup by such a name is refused the same way (it could name nothing)
      const lookup = await post(url, JSON.stringify({ query: 'query($n: String!) { td(name: $n) { name } }', variables: { n: name } }), admin);
      expect(lookup.status, JSON.stringify(name)).toBe(200);
      expect(lookup.json.errors?.[0]?.extensions, JSON.stringify(name)).toEqual({
        code: 'VALIDATION_FAILED',
        problems: [{ field: 'name', message: expect.stringMatching(message) }],
      });
      const reference = await post(
        url,
        JSON.stringify({
          query:
            'mutation($n: String!) { createTd(input: { name: "td-ok", vcpus: 2, host: { hostname: $n } }) { __typename ... on ValidationError { problems { field message } } } }',
          variables: { n: name },
        }),
        admin,
      );
      expect(reference.json.data?.createTd, JSON.stringify(name)).toEqual({
        __typename: 'ValidationError',
        problems: [{ field: 'host', message: expect.stringMatching(message) }],
      });
    }
    expect(await count()).toBe(before);
    for (const name of ['td-ünïcode-✓', 'td-emoji-😀', 'n'.repeat(253)]) {
      expect((await create(name)).json.data?.createTd, name).toEqual({ __typename: 'MutationCreateTdSuccess' });
      const found = await post(url, JSON.stringify({ query: 'query($n: String!) { td(name: $n) { name } }', variables: { n: name } }), admin);
      expect(found.json.data).toEqual({ td: { name } });
    }
  });

  it('an import refuses the same names with the same messages, at their JSON path', async () => {
    const url = await serve();
    const admin = { authorization: `Bearer ${await tokenFor(db, 'ADMIN')}` };
    const document = { tds: bad.map(([name]) => ({ name, vcpus: 2 })) };
    const res = await post(
      url,
      JSON.stringify({
        query: 'mutation($d: JSONObject!) { importInventory(document: $d) { __typename ... on ValidationError { problems { field message } } } }',
        variables: { d: document },
      }),
      admin,
    );
    expect(res.json.data?.importInventory).toEqual({
      __typename: 'ValidationError',
      problems: expect.arrayContaining(bad.map(([, message], i) => ({ field: `tds[${i}].name`, message: expect.stringMatching(message) }))),
    });
    expect((res.json.data?.importInventory as { problems: unknown[] }).problems).toHaveLength(bad.length);
  });

  it('the JSON Schema states the same rule', () => {
    const name = (inventoryJsonSchema.$defs as { name: { pattern: string; maxLength: number; minLength: number } }).name;
    expect(name).toMatchObject({ pattern: NAME_PATTERN.source, maxLength: NAME_MAX_LENGTH, minLength: 1 });
    for (const [candidate] of bad)
      expect(new RegExp(name.pattern, 'u').test(candidate) && [...candidate].length <= name.maxLength, JSON.stringify(candidate)).toBe(false);
  });
});
