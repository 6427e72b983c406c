// The one Pothos schema builder. Prisma plugin: object types from the Prisma models, with
// selections planned from the GraphQL query (no N+1). Relay: global IDs, node(id:), cursor
// connections. Errors: typed errors are data in mutation results, not top-level errors.
import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import { JSONObjectResolver } from 'graphql-scalars';
import type PrismaTypes from '../generated/pothos-prisma-types.js';
import { getDatamodel } from '../generated/pothos-prisma-types.js';
import type { Context } from './context.js';

export const builder = new SchemaBuilder<{
  PrismaTypes: PrismaTypes;
  Context: Context;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: { list: false; items: false };
  DefaultNodeNullability: false;
  Scalars: {
    JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
  };
}>({
  plugins: [ErrorsPlugin, PrismaPlugin, RelayPlugin],
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
    nodesQueryOptions: { description: 'Entities by their global IDs, in the same order.' },
  },
  errors: { defaultTypes: [] },
});

builder.addScalarType('JSONObject', JSONObjectResolver);

builder.queryType({ description: 'Fleet inventory and capacity answers.' });
builder.mutationType({ description: 'Changes to the fleet inventory. Failures are typed errors in the result.' });

/** The builder's schema types, for helpers that build fields outside a type's own definition. */
export type SchemaTypesOf<B> = B extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;
