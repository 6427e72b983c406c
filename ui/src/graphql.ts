// Typed GraphQL operations: gql.tada checks every document against schema.graphql (through the
// introspection types that `npm run ui:types` writes to graphql-env.d.ts), so a schema change that
// breaks a screen fails `npm run typecheck`.
import { initGraphQLTada } from 'gql.tada';
import type { introspection } from './graphql-env';

export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { JSONObject: Record<string, unknown> };
}>();

export type { ResultOf, VariablesOf } from 'gql.tada';
