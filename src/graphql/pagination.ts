// Page sizes of the connections whose pages tdplan computes itself (candidates, what-if lists):
// one check, one error, for all of them. And a totalCount started beside its page.
import type { GraphQLResolveInfo } from 'graphql';
import { ValidationError } from '../errors.js';
import { fieldsOf } from './selection.js';

export interface PageLimits {
  /** Used when the client gives no `first`. */
  defaultSize: number;
  max: number;
}

/** `first`, or the default; a ValidationError naming `first` when outside 0..max. */
export function pageSize(first: number | null | undefined, limits: PageLimits): number {
  const size = first ?? limits.defaultSize;
  if (size < 0 || size > limits.max) throw new ValidationError([{ field: 'first', message: `must be 0..${limits.max}, got ${size}` }]);
  return size;
}

// A connection's totalCount is its own statement, which Pothos runs when the totalCount field
// resolves: after the page. When the query asks for it, starting it with the page instead runs both
// at once on two pooled connections (the hosts page: a count of 100,000 hosts, 10 to 14 ms in
// PostgreSQL, no longer after the page's statement but beside it). Same statements, same answers.
const startedCounts = new WeakMap<GraphQLResolveInfo, Promise<number>>();

/**
 * Whether the connection field of `info` selects `name` directly. A directive (@include, @skip,
 * @defer) may leave the field out: then it is not started early.
 */
function selectsField(info: GraphQLResolveInfo, name: string): boolean {
  return fieldsOf(info, { skipDirected: true }).some((f) => f.name.value === name);
}

/**
 * Starts the count beside the page when the connection of `info` selects totalCount; call from the
 * connection's resolver, with `totalCountOf` in its totalCount (Pothos hands both the same `info`).
 */
export function startTotalCount(info: GraphQLResolveInfo, count: () => Promise<number>): void {
  if (!selectsField(info, 'totalCount')) return;
  const started = count();
  // Awaited by totalCountOf; until then a failure must not count as unhandled.
  started.catch(() => undefined);
  startedCounts.set(info, started);
}

/** The count startTotalCount started for `info`, or `count()` now. */
export function totalCountOf(info: GraphQLResolveInfo, count: () => Promise<number>): Promise<number> {
  return startedCounts.get(info) ?? count();
}
