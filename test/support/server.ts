// Tests talk to the real GraphQL server through yoga.fetch (the same handler node:http serves),
// authenticated with a real API token of the role they need (admin by default).
import { randomUUID } from 'node:crypto';
import type { ApiRole } from '../../src/auth/principal.js';
import { createApiToken } from '../../src/commands/tokens.js';
import type { CompiledExecution } from '../../src/graphql/compiled-execution.js';
import { createTdplanYoga, type TdplanYoga } from '../../src/server.js';
import type { TestDatabase } from './database.js';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  extensions?: { sqlRoundTrips?: number };
}

export interface TestClient {
  yoga: TdplanYoga;
  /** The token's name (what the audit trail records). */
  tokenName: string;
  /** `Authorization: Bearer <token>` for requests made by hand. */
  authHeaders(): Promise<Record<string, string>>;
  /** POSTs a GraphQL request and returns the parsed body and HTTP status. */
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
}

/** Creates an API token with `role` in the test database; returns the token. */
export async function tokenFor(db: TestDatabase, role: ApiRole, name = `test-${role.toLowerCase()}-${randomUUID().slice(0, 8)}`): Promise<string> {
  return (await createApiToken(db.prisma, { name: 'test-setup', role: 'ADMIN' }, name, role)).token;
}

/**
 * How the test servers execute queries: compiled by graphql-jit from a document's first execution
 * (`always`, the default here, so every test's queries run the compiled way production runs its
 * repeated ones), or `off` (the standard executor, which production runs a document's first
 * execution on): CI runs the suite once more with TDPLAN_TEST_COMPILED_EXECUTION=off.
 */
export function testCompiledExecution(): CompiledExecution {
  const given = process.env.TDPLAN_TEST_COMPILED_EXECUTION ?? 'always';
  if (given !== 'always' && given !== 'off' && given !== 'repeated')
    throw new Error(`TDPLAN_TEST_COMPILED_EXECUTION must be always, repeated or off (got ${given})`);
  return given;
}

export function testClient(
  db: TestDatabase,
  role: ApiRole = 'ADMIN',
  yoga: TdplanYoga = createTdplanYoga(db, { exposeSqlRoundTrips: true, compiledExecution: testCompiledExecution() }),
): TestClient {
  const tokenName = `test-${role.toLowerCase()}-${randomUUID().slice(0, 8)}`;
  let token: Promise<string> | undefined;
  const authHeaders = async (): Promise<Record<string, string>> => ({ authorization: `Bearer ${await (token ??= tokenFor(db, role, tokenName))}` });
  return {
    yoga,
    tokenName,
    authHeaders,
    async gql<T>(query: string, variables?: Record<string, unknown>) {
      const response = await yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...(await authHeaders()) },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as Omit<GraphQLResponse<T>, 'status'>;
      return { status: response.status, ...body };
    },
  };
}
