// `td(name:) { migrationTargets(first:) { ... } }` in one round trip: when td(name:) resolves, it can
// read the first page of the TD's migration targets in its own statement (migrationTargetsOfTd of
// src/planning/placement.ts), kept here for the TD's object until Td.migrationTargets
// (./types/placement.ts) resolves and takes it if it is the page it would read. A module of its own
// so that the two type families need not import each other.
import { getArgumentValues, type GraphQLObjectType, type GraphQLResolveInfo } from 'graphql';
import { migrationTargetsOfTd, type CandidatePage } from '../planning/placement.js';
import type { TdColumns, TdHostExportRange } from '../planning/td-lookup.js';
import type { Context } from './context.js';
import { pageSize, type PageLimits } from './pagination.js';
import { fieldsOf, fieldsUnder } from './selection.js';
import { HOST_SCALAR_FIELDS } from './types/host.js';

/** Candidate pages' sizes (placementCandidates, migrationTargets). */
export const CANDIDATE_PAGE: PageLimits = { defaultSize: 20, max: 100 };

/**
 * What Td.migrationTargets reads of its TD (its `select`): td(name:) answers this selection with its
 * own statement (../planning/td-lookup.ts), and with the first page of targets when it can.
 */
export const MIGRATION_TARGETS_SELECT = {
  id: true,
  vcpus: true,
  memoryMiB: true,
  migratable: true,
  hostId: true,
  host: { select: { module: { select: { minExportVersion: true, maxExportVersion: true } } } },
};

export interface PrefetchedTargets {
  first: number;
  page: CandidatePage;
}

const prefetched = new WeakMap<object, PrefetchedTargets>();

/** The page read with this TD, if any. */
export function prefetchedTargetsOf(td: object): PrefetchedTargets | undefined {
  return prefetched.get(td);
}

/**
 * The page size of the one `migrationTargets` under `td(name:)` (`info`) whose first page can be
 * read with the TD: no cursor, no directive, its nodes' fields host columns, a valid size. undefined
 * otherwise (migrationTargets then reads its page itself, and refuses a bad size as always).
 */
function prefetchableTargetsPage(info: GraphQLResolveInfo): number | undefined {
  const all = fieldsOf(info).filter((f) => f.name.value === 'migrationTargets');
  if (all.length !== 1 || all[0]!.directives?.length) return undefined;
  const field = all[0]!;
  const definition = (info.schema.getType('Td') as GraphQLObjectType).getFields().migrationTargets!;
  let args: { first?: number | null; after?: string | null };
  try {
    args = getArgumentValues(definition, field, info.variableValues) as typeof args;
  } catch {
    return undefined;
  }
  if (args.after != null) return undefined;
  const nodeFields = fieldsUnder(fieldsUnder([field], 'edges', info), 'node', info);
  if (!nodeFields.every((f) => HOST_SCALAR_FIELDS.has(f.name.value))) return undefined;
  try {
    return pageSize(args.first, CANDIDATE_PAGE);
  } catch {
    return undefined;
  }
}

/**
 * For `td(name:)` when it asks for the TD's columns and migrationTargets (what that field's `select`
 * reads): the TD, with the first page of its targets read in the same statement when
 * migrationTargets will ask for that page (one round trip instead of two: bench/README.md, issue 17).
 * undefined: the selection is not such a one.
 */
export async function tdWithMigrationTargets(
  ctx: Context,
  name: string,
  info: GraphQLResolveInfo,
): Promise<(TdColumns & TdHostExportRange) | null | undefined> {
  const first = prefetchableTargetsPage(info);
  if (first === undefined) return undefined;
  const found = await migrationTargetsOfTd(ctx.db, name, { first, withHosts: 'columns' });
  if (!found) return null;
  prefetched.set(found.td, { first, page: found.page });
  return found.td;
}
