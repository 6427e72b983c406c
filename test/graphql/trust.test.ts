// Who may do what, through the real HTTP handler: authentication (401 before anything runs), the
// role of every mutation and of the guarded queries (refusals change nothing), and the query limits
// (the planning UI's real queries pass, abusive ones are refused with a clear code).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isEnumType, isInputObjectType, isListType, isNonNullType, isScalarType, type GraphQLInputType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiRole } from '../../src/auth/principal.js';
import { schema } from '../../src/graphql/schema.js';
import { QUERY_LIMITS } from '../../src/graphql/limits.js';
import { demoFleet } from '../../src/inventory/demo-fleet.js';
import { exportInventory } from '../../src/inventory/export.js';
import { importDocument } from '../support/import.js';
import { EXAMPLE_QUERY } from '../../src/server.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testClient, type GraphQLResponse, type TestClient } from '../support/server.js';

let db: TestDatabase;
let admin: TestClient;
const clients = {} as Record<ApiRole, TestClient>;

beforeAll(async () => {
  db = await createTestDatabase();
  expect(await importDocument(db, demoFleet(), 'REPLACE')).toMatchObject({ ok: true });
  admin = testClient(db, 'ADMIN');
  clients.ADMIN = admin;
  clients.VIEWER = testClient(db, 'VIEWER', admin.yoga);
  clients.PLANNER = testClient(db, 'PLANNER', admin.yoga);
});
afterAll(async () => {
  await db.destroy();
});

async function post(headers: Record<string, string>, query: string): Promise<Response> {
  return admin.yoga.fetch('http://localhost/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query }),
  });
}

describe('authentication', () => {
  it('answers 401 with WWW-Authenticate to a request without a token, a malformed header or an unknown token', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Basic YWRtaW46YWRtaW4=' },
      { authorization: 'Bearer tdp_not-a-real-token' },
      { authorization: 'Bearer ' },
    ]) {
      const response = await post(headers, '{ hosts { totalCount } }');
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="tdplan"');
      const body = (await response.json()) as GraphQLResponse;
      expect(body.data).toBeUndefined();
      expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    // GET too (GraphQL over HTTP): no way around it.
    const get = await admin.yoga.fetch('http://localhost/graphql?query=%7Bme%7Bname%7D%7D', { headers: { accept: 'application/graphql-response+json' } });
    expect(get.status).toBe(401);
  });

  it('says who a token is, and a revoked token stops working at once', async () => {
    const created = await admin.gql<{ createApiToken: { token: string; apiToken: { name: string; role: string } } }>(
      'mutation { createApiToken(name: "short-lived", role: VIEWER) { ... on MutationCreateApiTokenSuccess { data { token apiToken { name role } } } } }',
    );
    expect(created.errors).toBeUndefined();
    const { token } = (created.data!.createApiToken as unknown as { data: { token: string } }).data;
    const me = (await (await post({ authorization: `Bearer ${token}` }, '{ me { name role } }')).json()) as GraphQLResponse<{ me: unknown }>;
    expect(me.data?.me).toEqual({ name: 'short-lived', role: 'VIEWER' });
    const revoked = await admin.gql('mutation { revokeApiToken(name: "short-lived") { __typename } }');
    expect(revoked.data).toEqual({ revokeApiToken: { __typename: 'MutationRevokeApiTokenSuccess' } });
    expect((await post({ authorization: `Bearer ${token}` }, '{ me { name } }')).status).toBe(401);
    // Only the hash is stored.
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM api_token WHERE token_hash = $1 OR name = $1', [token]);
    expect(rows[0]!.n).toBe(0);
  });
});

// The role each mutation needs. Listing every one here means a new mutation fails this test until
// someone decides who may call it.
const MUTATION_ROLES: Record<string, ApiRole> = {
  placeTd: 'PLANNER',
  migrateTd: 'PLANNER',
  createScenario: 'PLANNER',
  commentOnScenario: 'PLANNER',
  decideScenario: 'ADMIN',
  applyScenario: 'ADMIN',
  createPlatform: 'ADMIN',
  updatePlatform: 'ADMIN',
  deletePlatform: 'ADMIN',
  createModule: 'ADMIN',
  updateModule: 'ADMIN',
  deleteModule: 'ADMIN',
  createKernel: 'ADMIN',
  updateKernel: 'ADMIN',
  deleteKernel: 'ADMIN',
  createHost: 'ADMIN',
  updateHost: 'ADMIN',
  deleteHost: 'ADMIN',
  createTd: 'ADMIN',
  updateTd: 'ADMIN',
  deleteTd: 'ADMIN',
  importInventory: 'ADMIN',
  applyHostProbe: 'ADMIN',
  checkHostDrift: 'PLANNER',
  createApiToken: 'ADMIN',
  revokeApiToken: 'ADMIN',
};
const RANK: Record<ApiRole, number> = { VIEWER: 0, PLANNER: 1, ADMIN: 2 };

/** A value of the argument's type that passes GraphQL's own coercion (the resolver may still refuse it). */
function sample(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return sample(type.ofType);
  if (isListType(type)) return [];
  if (isEnumType(type)) return type.getValues()[0]!.value;
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields());
    if (type.isOneOf) return { [fields[0]!.name]: sample(fields[0]!.type) };
    return Object.fromEntries(fields.filter((f) => isNonNullType(f.type)).map((f) => [f.name, sample(f.type)]));
  }
  if (isScalarType(type)) return ({ String: 'sample', ID: 'sample', Int: 1, Float: 1, Boolean: true, JSONObject: {} } as Record<string, unknown>)[type.name];
  throw new Error(`no sample for ${String(type)}`);
}

function callOf(field: string): { query: string; variables: Record<string, unknown> } {
  const args = schema.getMutationType()!.getFields()[field]!.args;
  const decl = args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const pass = args.map((a) => `${a.name}: $${a.name}`).join(', ');
  return {
    query: `mutation${decl ? `(${decl})` : ''} { ${field}${pass ? `(${pass})` : ''} { __typename } }`,
    variables: Object.fromEntries(args.map((a) => [a.name, sample(a.type)])),
  };
}

async function snapshot(): Promise<unknown> {
  const { rows } = await db.pool.query('SELECT (SELECT count(*) FROM audit_event) AS audit, (SELECT count(*) FROM api_token) AS tokens');
  return { inventory: await exportInventory(db), counts: rows[0] };
}

describe('roles', () => {
  it('every mutation has a role, and roles below it get FORBIDDEN and change nothing', async () => {
    expect(Object.keys(schema.getMutationType()!.getFields()).sort()).toEqual(Object.keys(MUTATION_ROLES).sort());
    for (const client of Object.values(clients)) await client.authHeaders(); // tokens exist before the snapshot
    const before = await snapshot();
    for (const [field, needed] of Object.entries(MUTATION_ROLES)) {
      const { query, variables } = callOf(field);
      for (const role of ['VIEWER', 'PLANNER'] as const) {
        const res = await clients[role].gql(query, variables);
        if (RANK[role] < RANK[needed]) {
          expect(res.data, `${field} as ${role}`).toBeNull();
          expect(
            res.errors?.map((e) => e.extensions?.code),
            `${field} as ${role}`,
          ).toEqual(['FORBIDDEN']);
          expect(res.errors?.[0]?.message).toBe(`Mutation.${field} is not allowed for role ${role} (token "${clients[role].tokenName}")`);
        } else {
          expect(res.errors ?? [], `${field} as ${role}`).not.toContainEqual(
            expect.objectContaining({ extensions: expect.objectContaining({ code: 'FORBIDDEN' }) }),
          );
        }
      }
    }
    expect(await snapshot()).toEqual(before);
    // An admin may call every one of them (the sample arguments may still be refused as data).
    for (const field of Object.keys(MUTATION_ROLES)) {
      const { query, variables } = callOf(field);
      const res = await admin.gql(query, variables);
      expect(res.errors, field).toBeUndefined();
      expect(res.data?.[field], field).toHaveProperty('__typename');
    }
  });

  it('reads need a viewer; what-if a planner; the audit trail and tokens an admin', async () => {
    const whatIf = '{ whatIf(changes: { modules: [{ module: { version: "2.0.02.00.0420" }, maxVcpusPerTd: 512 }] }) { hostsLosingTdx { totalCount } } }';
    const cases: [string, ApiRole][] = [
      ['{ hosts { totalCount } fleetSummary { hosts } me { role } }', 'VIEWER'],
      ['{ td(name: "td-web-03") { migrationCheck(targetHostname: "gnr-b01") { compatible } } }', 'VIEWER'],
      [whatIf, 'PLANNER'],
      ['{ auditEvents(first: 1) { totalCount } }', 'ADMIN'],
      ['{ apiTokens { name } }', 'ADMIN'],
    ];
    for (const [query, needed] of cases) {
      for (const role of ['VIEWER', 'PLANNER', 'ADMIN'] as const) {
        const res = await clients[role].gql(query);
        if (RANK[role] < RANK[needed])
          expect(
            res.errors?.map((e) => e.extensions?.code),
            `${query} as ${role}`,
          ).toEqual(['FORBIDDEN']);
        else expect(res.errors, `${query} as ${role}`).toBeUndefined();
      }
    }
  });
});

describe('query limits', () => {
  it("the planning queries pass: GraphiQL's default, every README example and the benchmark page", async () => {
    const readme = await readFile(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    const examples = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(examples.length).toBeGreaterThanOrEqual(4);
    const page = `{ hosts(first: 100) { totalCount edges { node { hostname presentCpus platform { name } module { version maxVcpusPerTd } kernel { name kvmMaxVcpus }
      kvmCapMaxVcpus tdxDisabledReasons { code message } freeKeyIds freeVcpus tds(first: 20) { totalCount edges { node { name vcpus } } } } } } }`;
    for (const query of [EXAMPLE_QUERY, page, ...examples]) {
      const res = await admin.gql(query);
      expect(
        res.errors?.filter((e) => e.extensions?.code === 'QUERY_TOO_COMPLEX' || /alias|token/i.test(e.message)),
        query,
      ).toBeFalsy();
    }
  });

  it('refuses a query whose nested pages would load too much, with the numbers', async () => {
    const res = await admin.gql(
      '{ hosts(first: 100) { edges { node { tds(first: 100) { edges { node { name host { tds(first: 100) { totalCount } } } } } } } } }',
    );
    expect(res.data ?? null).toBeNull();
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', kind: 'complexity', limit: QUERY_LIMITS.complexity });
    expect(res.errors?.[0]?.message).toMatch(/^query complexity \d+ exceeds the limit of 20000/);
  });

  it('refuses too deep, too many aliases, too many tokens; never suggests field names', async () => {
    let deep = 'hostname';
    for (let i = 0; i < 4; i++) deep = `tds(first: 1) { edges { node { host { ${deep} } } } }`;
    const depth = await admin.gql(`{ hosts(first: 1) { edges { node { ${deep} } } } }`);
    expect(depth.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', kind: 'depth' });

    const aliases = Array.from({ length: QUERY_LIMITS.aliases + 1 }, (_, i) => `a${i}: fleetSummary { hosts }`).join(' ');
    const tooManyAliases = await admin.gql(`{ ${aliases} }`);
    expect(tooManyAliases.errors?.[0]?.message).toMatch(/aliases/i);

    const tokens = await admin.gql(`{ ${Array.from({ length: QUERY_LIMITS.tokens }, () => '__typename').join(' ')} }`);
    expect(tokens.errors?.[0]?.message).toMatch(/token/i);

    const typo = await admin.gql('{ hostz { totalCount } }');
    expect(typo.errors?.[0]?.message).not.toMatch(/did you mean/i);
    for (const res of [depth, tooManyAliases, tokens, typo]) {
      expect(JSON.stringify(res)).not.toMatch(/\n\s+at |stack/);
    }
  });
});
