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
} as const;

/** Page size the relay plugin uses when a connection gets no `first`/`last`. */
const DEFAULT_PAGE = 20;

export function fieldComplexity<C>(
  args: Record<string, unknown>,
  _ctx: C,
  field: GraphQLField<unknown, C, Record<string, unknown>>,
): { field: number; multiplier: number } {
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
