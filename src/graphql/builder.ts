// The one Pothos schema builder. Prisma plugin: object types from the Prisma models, with
// selections planned from the GraphQL query (no N+1). Relay: global IDs, node(id:), cursor
// connections. Errors: typed errors are data in mutation results, not top-level errors.
import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ComplexityPlugin from '@pothos/plugin-complexity';
import StablePathsPlugin from './stable-paths.js';
import { roleAllows } from '../auth/principal.js';
import { ForbiddenError, ValidationError } from '../errors.js';
import { JSONObjectResolver } from 'graphql-scalars';
import type PrismaTypes from '../generated/pothos-prisma-types.js';
import { getDatamodel } from '../generated/pothos-prisma-types.js';
import type { Context } from './context.js';
import { complexityError, fieldComplexity, nodesComplexity, QUERY_LIMITS } from './limits.js';

export const builder = new SchemaBuilder<{
  PrismaTypes: PrismaTypes;
  Context: Context;
  // Roles as scopes: each includes the ones before it (src/auth/principal.ts).
  AuthScopes: { viewer: boolean; planner: boolean; admin: boolean };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: { list: false; items: false };
  DefaultNodeNullability: false;
  Scalars: {
    JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
  };
}>({
  // Scope auth first, so no other plugin's wrapper runs for a request that may not see the field.
  // Stable paths just outside the prisma plugin's wrappers, which key on path identity (./stable-paths.ts).
  plugins: [ScopeAuthPlugin, ComplexityPlugin, ErrorsPlugin, StablePathsPlugin, PrismaPlugin, RelayPlugin],
  complexity: {
    fieldComplexity,
    complexityError,
    limit: { complexity: QUERY_LIMITS.complexity, depth: QUERY_LIMITS.depth, breadth: QUERY_LIMITS.breadth },
  },
  scopeAuth: {
    authScopes: (ctx) => ({
      viewer: roleAllows(ctx.principal.role, 'VIEWER'),
      planner: roleAllows(ctx.principal.role, 'PLANNER'),
      admin: roleAllows(ctx.principal.role, 'ADMIN'),
    }),
    unauthorizedError: (_parent, ctx, info) => new ForbiddenError(ctx.principal, `${info.parentType.name}.${info.fieldName}`),
  },
  defaultFieldNullability: false,
  prisma: {
    client: (ctx) => ctx.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: true,
    filterConnectionTotalCount: true,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'warn',
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    edgesFieldOptions: { nullable: { list: false, items: false } },
    nodeFieldOptions: { nullable: false },
    nodeQueryOptions: { description: 'Any entity by its global ID.' },
    nodesQueryOptions: {
      description: `Entities by their global IDs, in the same order (at most ${QUERY_LIMITS.nodeIds}).`,
      complexity: nodesComplexity,
      resolve: (_root, args, _ctx, _info, resolveNodes) => {
        if (args.ids.length > QUERY_LIMITS.nodeIds) {
          throw new ValidationError([{ field: 'ids', message: `at most ${QUERY_LIMITS.nodeIds} IDs per request (got ${args.ids.length})` }]);
        }
        return resolveNodes(args.ids);
      },
    },
  },
  errors: { defaultTypes: [] },
});

builder.addScalarType('JSONObject', JSONObjectResolver);

// Deny by default: every query needs a viewer token and every mutation an admin one, unless a
// field says otherwise (placements and what-if questions are for planners).
builder.queryType({ description: 'Fleet inventory and capacity answers. Needs a VIEWER token or better.', authScopes: { viewer: true } });
builder.mutationType({
  description: 'Changes to the fleet inventory (ADMIN) and placements (PLANNER). Failures are typed errors in the result.',
  authScopes: { admin: true },
});

/** The builder's schema types, for helpers that build fields outside a type's own definition. */
export type SchemaTypesOf<B> = B extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;
