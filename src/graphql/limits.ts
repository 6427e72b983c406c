// Limits against abusive queries, sized so the planning UI's real queries pass (test/graphql/trust.test.ts
// runs them). Cost counts what a query can make the server load: a connection's selections cost
// once per requested item (`first`), other lists ten times, every field one.
import { getNullableType, GraphQLError, isListType, type GraphQLField } from 'graphql';

export const QUERY_LIMITS = {
  /** Cost: 100 hosts with module, platform, kernel and 20 TDs each costs about 8,000. */
  complexity: 20_000,
  /** Selection depth: connections nest as hosts > edges > node > tds > edges > node (6) plus a little. */
  depth: 12,
  /** Selections in one query. */
  breadth: 300,
  /** Aliases in one query (each alias can repeat an expensive field). */
  aliases: 15,
  /** Lexical tokens in the query text (variables are not counted: send documents as variables). */
  tokens: 5_000,
  /** IDs in one `nodes(ids:)`: each is a row to load, like an item of a page. */
  nodeIds: 100,
} as const;

/**
 * Root fields whose answer covers the whole fleet, whatever the arguments: priced by what they
 * return or compute, not as one field. The inventory document is every row of the inventory (tens
 * of MB for a region): two of them take the whole budget. A what-if loads every host's and TD's
 * facts; the others are fleet-wide aggregates.
 */
export const FLEET_WIDE_FIELD_COSTS: Readonly<Record<string, number>> = {
  inventoryDocument: 10_000,
  whatIf: 2_000,
  whatFitsWhere: 500,
  fleetSummary: 500,
  moduleMatrix: 500,
  moduleFloor: 200,
};

/** `nodes(ids:)` costs its selection once per ID, like a connection per item of its page. */
export function nodesComplexity(args: { ids?: unknown }): { field: number; multiplier: number } {
  return { field: 1, multiplier: Array.isArray(args.ids) ? Math.max(1, args.ids.length) : 1 };
}

/** Page size the relay plugin uses when a connection gets no `first`/`last`. */
const DEFAULT_PAGE = 20;

export function fieldComplexity<C>(
  args: Record<string, unknown>,
  _ctx: C,
  field: GraphQLField<unknown, C, Record<string, unknown>>,
): { field: number; multiplier: number } {
  const fixed = FLEET_WIDE_FIELD_COSTS[field.name];
  if (fixed !== undefined) return { field: fixed, multiplier: 1 };
  const page = typeof args.first === 'number' ? args.first : typeof args.last === 'number' ? args.last : null;
  const type = getNullableType(field.type);
  const typeName = 'name' in type ? String(type.name) : '';
  if (page !== null || typeName.endsWith('Connection')) return { field: 1, multiplier: Math.max(1, page ?? DEFAULT_PAGE) };
  // A connection's edges are already paid for by the connection's page size.
  if (field.name === 'edges' || field.name === 'nodes') return { field: 1, multiplier: 1 };
  return { field: 1, multiplier: isListType(type) ? 10 : 1 };
}

export function complexityError(
  errorKind: string,
  result: { complexity: number; depth: number; breadth: number; maxComplexity?: number; maxDepth?: number; maxBreadth?: number },
): GraphQLError {
  const kind = errorKind.toLowerCase(); // the plugin says Complexity, Depth, Breadth
  const [value, max] =
    kind === 'depth' ? [result.depth, result.maxDepth] : kind === 'breadth' ? [result.breadth, result.maxBreadth] : [result.complexity, result.maxComplexity];
  return new GraphQLError(`query ${kind} ${value} exceeds the limit of ${max}: ask for smaller pages or fewer fields`, {
    extensions: { code: 'QUERY_TOO_COMPLEX', kind, value, limit: max },
  });
}
