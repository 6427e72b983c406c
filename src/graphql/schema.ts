// Importing each type family registers it with the builder; the order does not matter.
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import { describeGeneratedTypes } from './describe-generated.js';
import './types/errors.js';
import './types/platform.js';
import './types/kernel.js';
import './types/module.js';
import './types/host.js';
import './types/td.js';
import { planCapacityFacts } from './types/capacity.js';
import './types/inventory.js';
import './types/placement.js';
import './types/negotiation.js';
import './types/scenario.js';
import './types/audit.js';
import './types/auth.js';
import './types/probe.js';

export const schema: GraphQLSchema = describeGeneratedTypes(builder.toSchema({ sortSchema: true }));
planCapacityFacts(schema);

/** The SDL committed as schema.graphql (a test fails when they differ). */
export function printSchemaSdl(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
