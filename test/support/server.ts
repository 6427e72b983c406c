// Tests talk to the real GraphQL server through yoga.fetch (the same handler node:http serves).
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
  /** POSTs a GraphQL request and returns the parsed body and HTTP status. */
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
}

export function testClient(db: TestDatabase): TestClient {
  const yoga = createTdplanYoga(db, { exposeSqlRoundTrips: true });
  return {
    yoga,
    async gql<T>(query: string, variables?: Record<string, unknown>) {
      const response = await yoga.fetch('http://localhost/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as Omit<GraphQLResponse<T>, 'status'>;
      return { status: response.status, ...body };
    },
  };
}
