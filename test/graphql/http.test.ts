// GraphQL over HTTP (https://graphql.github.io/graphql-over-http/): GET and POST, media types
// and status codes, through the same handler the server listens with.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createTdplanYoga } from '../../src/server.js';
import { testClient, type TestClient } from '../support/server.js';

let db: TestDatabase;
let client: TestClient;
const GRAPHQL_RESPONSE = 'application/graphql-response+json';

beforeAll(async () => {
  db = await createTestDatabase();
  client = testClient(db);
});
afterAll(async () => {
  await db.destroy();
});

async function fetchGraphql(init: RequestInit & { query?: string }, accept = GRAPHQL_RESPONSE): Promise<Response> {
  const url = `http://localhost/graphql${init.query ?? ''}`;
  return client.yoga.fetch(url, { ...init, headers: { accept, ...(await client.authHeaders()), ...(init.headers as Record<string, string>) } });
}

describe('GraphQL over HTTP', () => {
  it('answers a POST with application/graphql-response+json and 200', async () => {
    const res = await fetchGraphql({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ hosts(first: 1) { totalCount } }' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain(GRAPHQL_RESPONSE);
    expect(((await res.json()) as { data: unknown }).data).toEqual({ hosts: { totalCount: 0 } });
  });

  it('answers a query over GET', async () => {
    const res = await fetchGraphql({ method: 'GET', query: `?query=${encodeURIComponent('{ platforms(first: 1) { totalCount } }')}` });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown }).data).toEqual({ platforms: { totalCount: 0 } });
  });

  it('refuses a mutation over GET with 405', async () => {
    const mutation = 'mutation { deleteTd(td: { name: "x" }) { __typename } }';
    const res = await fetchGraphql({ method: 'GET', query: `?query=${encodeURIComponent(mutation)}` });
    expect(res.status).toBe(405);
  });

  it('answers a request that does not parse with 400 and an error, no data', async () => {
    const res = await fetchGraphql({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ hosts(' }) });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { data?: unknown; errors: unknown[] };
    expect(body.data).toBeUndefined();
    expect(body.errors.length).toBeGreaterThan(0);
  });

  it('answers an invalid query (unknown field) with 400', async () => {
    const res = await fetchGraphql({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ nope }' }) });
    expect(res.status).toBe(400);
  });

  it('answers a body that is not JSON with 400', async () => {
    const res = await fetchGraphql({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(res.status).toBe(400);
  });

  it('still speaks application/json to legacy clients, with 200 for validation errors', async () => {
    const res = await fetchGraphql(
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ nope }' }) },
      'application/json',
    );
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.status).toBe(200);
  });

  // Through node:http, listen() refuses such bodies before yoga (test/ops/operations.test.ts); a
  // request handed to the handler directly gets the limit from the handler itself.
  it('refuses a body over maxBodyBytes given to the handler directly, by Content-Length or by counting', async () => {
    const small = testClient(db, 'ADMIN', createTdplanYoga(db, { maxBodyBytes: 1024 }));
    const body = JSON.stringify({ query: `{ hosts(first: 1) { totalCount } } # ${'x'.repeat(2000)}` });
    const headers = { 'content-type': 'application/json', ...(await small.authHeaders()) };
    const declared = await small.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { ...headers, 'content-length': String(body.length) },
      body,
    });
    expect(declared.status).toBe(413);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(body));
        controller.close();
      },
    });
    const counted = await small.yoga.fetch('http://localhost/graphql', { method: 'POST', headers, body: stream, duplex: 'half' } as RequestInit);
    expect(counted.status).toBe(413);
    const fits = await small.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers,
      body: JSON.stringify({ query: '{ hosts(first: 1) { totalCount } }' }),
    });
    expect(fits.status).toBe(200);
  });
});
