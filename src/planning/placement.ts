// Where a TD may go, in SQL: the R5 (fit) and R6 (migration) conditions of src/capacity/rules.ts
// over the host_capacity view, ordered best first and paginated with a keyset cursor, so a fleet of
// 100,000 hosts is never loaded into memory. test/capacity/placement-agreement.test.ts checks
// that these sets equal the hosts the pure rules accept.
//
// Ordering policy: best fit. Hosts that would be left with the fewest free vCPUs come first, so
// small TDs fill partly used hosts and large holes stay free for large TDs; ties go to the host
// with more free guest KeyIDs (headroom for more TDs), then to the lower host id.
import { invalidCursor, isWellFormedCursor } from '../cursors.js';
import type { Database, Prisma } from '../db/client.js';
import { byBlockerCodeOrder } from '../capacity/rules.js';
import { hostFactsSelect, moduleFactsSelect } from './host-facts.js';
import { TD_WITH_EXPORT_RANGE_WIDTH, tdWithExportRangeOf, tdWithExportRangeSql, type TdColumns, type TdHostExportRange } from './td-lookup.js';
import { columnPicker, columnsSql, HOST_COLUMNS, HOST_RECORD_DECODERS, KERNEL_COLUMNS, MODULE_COLUMNS, recordPicker, recordSql } from './table-columns.js';
import { byGroupKey } from './fleet-summary.js';
import { acceptsSql, blockersSql, paramsOf } from './rules-sql.js';
import { planOpaque, sqlRowCount } from './sql-literals.js';

export interface CandidateQuery {
  vcpus: number;
  /** R7: the TD's memory; null: not checked. */
  memoryMiB: number | null;
  /** Only hosts with these (resolved) attributes. */
  moduleId?: number | undefined;
  platformId?: number | undefined;
  kernelId?: number | undefined;
  /** R6: leave out the TD's own host, and require migration versions compatible with its module's export range. */
  migration?: { sourceHostId: number | null; minExportVersion: number; maxExportVersion: number } | undefined;
  first: number;
  after?: string | null | undefined;
  /**
   * Also return each candidate's host row in the same statement, so a page whose readers need no more
   * costs one round trip instead of two: its columns (`HostColumns`), or its columns and the capacity
   * facts of its kernel and module (`CandidateHost`).
   */
  withHosts?: 'columns' | 'facts' | undefined;
}

export interface Candidate {
  hostId: number;
  /** Free vCPUs the host keeps after taking the TD. */
  remainingVcpus: number;
  freeKeyIds: number;
  /** With `withHosts`: the host row (a `CandidateHost` with 'facts'). */
  host?: HostColumns;
}

/** A host's columns, as Prisma loads them when asked for no relation. */
export type HostColumns = Prisma.HostGetPayload<object>;

/**
 * A candidate's host as Prisma would load it with `include: { kernel: { select }, module: { select } }`
 * of the capacity facts (`hostFactsSelect`): every scalar column of host, and the kernel's and
 * module's columns the rules read. test/planning/candidate-hosts.test.ts checks every host of a
 * fleet against Prisma's own row.
 */
export type CandidateHost = Prisma.HostGetPayload<{
  include: { kernel: { select: (typeof hostFactsSelect)['kernel']['select'] }; module: { select: (typeof hostFactsSelect)['module']['select'] } };
}>;

// What a CandidateHost carries of its kernel and module: the capacity facts' columns.
const KERNEL_FACT_FIELDS = Object.keys(hostFactsSelect.kernel.select);
const MODULE_FACT_FIELDS = Object.keys(moduleFactsSelect);
const HOST_FIELDS = Object.keys(HOST_COLUMNS);

// Joined to the candidate page p: its host; with the facts, also its kernel and module (null when
// none), and the module's platforms.
// The host's columns as one record literal, as hostPage reads them (src/planning/host-page.ts says why),
// built in the join to the chosen page: one per candidate (recordSql says why that matters).
const hostColumnsSql = `, ${recordSql(HOST_FIELDS.map((field) => `ph.${HOST_COLUMNS[field as keyof typeof HOST_COLUMNS]}`))} AS "h"`;
const factsSql = `${hostColumnsSql}${columnsSql('pk', 'k.', KERNEL_COLUMNS, KERNEL_FACT_FIELDS)},
       pm.id AS "m.id"${columnsSql('pm', 'm.', MODULE_COLUMNS, MODULE_FACT_FIELDS)}, COALESCE(pmp.ids, '{}') AS "m.platforms"`;
const hostJoin = ` JOIN host ph ON ph.id = p.id`;
// The platforms of every module grouped once (a few modules, a few platforms each), not a subquery per row.
const factsJoins = `${hostJoin} JOIN kernel pk ON pk.id = ph.kernel_id LEFT JOIN tdx_module pm ON pm.id = ph.module_id
     LEFT JOIN (SELECT module_id, array_agg(platform_id) AS ids FROM module_platform GROUP BY module_id) pmp ON pmp.module_id = pm.id`;

const hostColumns = recordPicker(HOST_FIELDS, HOST_RECORD_DECODERS);
const moduleFacts = columnPicker('m.', MODULE_FACT_FIELDS);
const kernelFacts = columnPicker('k.', KERNEL_FACT_FIELDS);

function hostColumnsOf(row: Record<string, unknown>): HostColumns {
  return hostColumns(row.h as string) as HostColumns;
}

function candidateHostOf(row: Record<string, unknown>): CandidateHost {
  const module = row['m.id'] === null ? null : { ...moduleFacts(row), platforms: (row['m.platforms'] as number[]).map((platformId) => ({ platformId })) };
  return { ...hostColumnsOf(row), kernel: kernelFacts(row), module } as CandidateHost;
}

export interface CandidatePage {
  candidates: Candidate[];
  hasNextPage: boolean;
}

interface CursorKey {
  remaining: number;
  freeKeyIds: number;
  id: number;
}

export function encodeCandidateCursor(k: CursorKey): string {
  return Buffer.from(`fit:${k.remaining}:${k.freeKeyIds}:${k.id}`).toString('base64url');
}

/** The cursor after `c`: made when asked (a page's edges rarely are: 2.8% of a migrationTargets request's CPU when every one was). */
export function candidateCursor(c: Candidate): string {
  return encodeCandidateCursor({ remaining: c.remainingVcpus, freeKeyIds: c.freeKeyIds, id: c.hostId });
}

/** The key of a candidate cursor; a ValidationError (`after`) when it is not one (src/graphql/cursors.ts). */
export function decodeCandidateCursor(cursor: string): CursorKey {
  const m = isWellFormedCursor(cursor) ? /^fit:(-?\d+):(-?\d+):(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8')) : null;
  if (!m) throw invalidCursor('after');
  return { remaining: Number(m[1]), freeKeyIds: Number(m[2]), id: Number(m[3]) };
}

/** The TD's values as SQL: planOpaque sub-selects of parameters, or of a TD read in the same statement. */
interface TdSql {
  vcpus: string;
  memoryMiB: string;
  migration?: { sourceHostId: string | null; minExportVersion: string; maxExportVersion: string };
}

/**
 * The fit conditions and filters as SQL over the host_capacity view c (one row per host), and the
 * TD's vCPUs as SQL. Every value is a planOpaque sub-select (sql-literals.ts says why).
 */
function whereClause(q: CandidateQuery, params: unknown[]): { where: string; vcpus: string } {
  const param = paramsOf(params);
  const p = (value: unknown) => planOpaque(param(value), 'int');
  const { migration } = q;
  const td: TdSql = {
    vcpus: p(q.vcpus),
    memoryMiB: p(q.memoryMiB),
    migration: migration && {
      sourceHostId: migration.sourceHostId === null ? null : p(migration.sourceHostId),
      minExportVersion: p(migration.minExportVersion),
      maxExportVersion: p(migration.maxExportVersion),
    },
  };
  const conditions = [conditionsSql(td)];
  if (q.moduleId !== undefined) conditions.push(`c.module_id = ${p(q.moduleId)}`);
  if (q.platformId !== undefined) conditions.push(`c.platform_id = ${p(q.platformId)}`);
  if (q.kernelId !== undefined) conditions.push(`c.kernel_id = ${p(q.kernelId)}`);
  return { where: conditions.join(' AND '), vcpus: td.vcpus };
}

/** R5 (and R7) for the TD, and R6 when it migrates. */
function conditionsSql(td: TdSql): string {
  const conditions = [acceptsSql({ vcpus: td.vcpus, memoryMiB: td.memoryMiB })];
  if (td.migration) {
    // R6: another host, whose module imports a version the source module exports.
    if (td.migration.sourceHostId !== null) conditions.push(`c.host_id <> ${td.migration.sourceHostId}`);
    conditions.push(
      `EXISTS (SELECT 1 FROM tdx_module m WHERE m.id = c.module_id AND m.min_import_version <= ${td.migration.maxExportVersion} AND ${td.migration.minExportVersion} <= m.max_import_version)`,
    );
  }
  return conditions.join(' AND ');
}

/** The first `first` candidates (and one more) of `where`, with their hosts as `withHosts` says. */
function candidatePageSql(where: string, vcpus: string, keyset: string, first: number, withHosts: CandidateQuery['withHosts']): string {
  // The row count as a literal: sql-literals.ts says why.
  const pageSql = `SELECT c.host_id AS id, c.free_vcpus - ${vcpus} AS remaining, c.free_key_ids
     FROM host_capacity c WHERE ${where}${keyset}
     ORDER BY c.free_vcpus ASC, c.free_key_ids DESC, c.host_id ASC
     LIMIT ${sqlRowCount(first + 1)}`;
  // The hosts are joined to the page once it is chosen: the page is a subquery of its own (with its
  // LIMIT, the planner plans it alone), so the joins add no planning time to the view's (8 ms measured
  // with them joined to the view directly, against 0.7 ms).
  return withHosts
    ? `SELECT p.id, p.remaining, p.free_key_ids${withHosts === 'facts' ? factsSql : hostColumnsSql}
     FROM (${pageSql}) p${withHosts === 'facts' ? factsJoins : hostJoin}
     ORDER BY p.remaining ASC, p.free_key_ids DESC, p.id ASC`
    : pageSql;
}

type CandidateRow = { id: number; remaining: number; free_key_ids: number } & Record<string, unknown>;

function candidatePageOf(rows: CandidateRow[], first: number, withHosts: CandidateQuery['withHosts']): CandidatePage {
  const page = rows.slice(0, first);
  return {
    candidates: page.map((r) => ({
      hostId: r.id,
      remainingVcpus: r.remaining,
      freeKeyIds: r.free_key_ids,
      ...(withHosts === 'facts' ? { host: candidateHostOf(r) } : withHosts === 'columns' ? { host: hostColumnsOf(r) } : {}),
    })),
    hasNextPage: rows.length > first,
  };
}

/**
 * One page of hosts that accept the TD, best first. The order is (free vCPUs, free KeyIDs desc, id),
 * which is the host_best_fit_idx index: the page walks it from the TD's size up and stops early.
 */
export async function placementCandidates(db: Database, q: CandidateQuery): Promise<CandidatePage> {
  const params: unknown[] = [];
  const { where, vcpus } = whereClause(q, params);
  let keyset = '';
  const after = q.after != null ? decodeCandidateCursor(q.after) : null;
  if (after) {
    // The cursor holds `remaining` = free vCPUs - the TD's size; compare free vCPUs directly.
    params.push(after.remaining + q.vcpus, after.freeKeyIds, after.id);
    const [f, k, i] = [params.length - 2, params.length - 1, params.length];
    // (free ASC, free key IDs DESC, id ASC) strictly after the cursor; the first term bounds the index scan.
    // bigint: the sum of two integers may not be one (integer and bigint compare on the same index).
    const [free, keyIds, id] = [planOpaque(`$${f}`, 'bigint'), planOpaque(`$${k}`, 'int'), planOpaque(`$${i}`, 'int')];
    keyset = ` AND c.free_vcpus >= ${free} AND (c.free_vcpus > ${free} OR (c.free_vcpus = ${free} AND (c.free_key_ids < ${keyIds}
      OR (c.free_key_ids = ${keyIds} AND c.host_id > ${id}))))`;
  }
  const { rows } = await db.pool.query<CandidateRow>(candidatePageSql(where, vcpus, keyset, q.first, q.withHosts), params);
  return candidatePageOf(rows, q.first, q.withHosts);
}

/**
 * A TD by name, and the first page of its migration targets (R6), in one statement: what
 * `td(name:) { migrationTargets(first:) { ... } }` asks, one round trip instead of two (bench/README.md,
 * issue 17). The TD's values reach the conditions as sub-selects of the TD row, opaque to the planner
 * as planOpaque's parameters are; a TD that cannot migrate (not migratable, planned, on a host
 * without a module) has no targets, as Td.migrationTargets answers. null: no such TD.
 */
export async function migrationTargetsOfTd(
  db: Database,
  name: string,
  page: { first: number; withHosts: 'columns' | undefined },
): Promise<{ td: TdColumns & TdHostExportRange; page: CandidatePage } | null> {
  const td = tdWithExportRangeSql('$1', 'td.');
  const of = (field: string) => `(SELECT t."td.${field}" FROM t)`;
  const movable = `(SELECT t."td.migratable" AND t."td.hostId" IS NOT NULL AND t."td.m.minExportVersion" IS NOT NULL
    AND t."td.m.maxExportVersion" IS NOT NULL FROM t)`;
  const vcpus = of('vcpus');
  const where = `${movable} AND ${conditionsSql({
    vcpus,
    memoryMiB: of('memoryMiB'),
    migration: { sourceHostId: of('hostId'), minExportVersion: of('m.minExportVersion'), maxExportVersion: of('m.maxExportVersion') },
  })}`;
  const candidate = ['id', 'remaining', 'free_key_ids', ...(page.withHosts ? ['h'] : [])];
  // The TD's row first, then its candidates' (each row's other columns null).
  const { rows } = await db.pool.query<CandidateRow>(
    `WITH t AS MATERIALIZED (SELECT ${td.select} FROM ${td.from})
    SELECT 0 AS "#", t.*, ${candidate.map((c) => `NULL AS ${c}`).join(', ')} FROM t
    UNION ALL
    SELECT 1, ${Array(TD_WITH_EXPORT_RANGE_WIDTH).fill('NULL').join(', ')}, ${candidate.map((c) => `p.${c}`).join(', ')} FROM (${candidatePageSql(where, vcpus, '', page.first, page.withHosts)}) p
    ORDER BY 1, remaining ASC, free_key_ids DESC, id ASC`,
    [name],
  );
  const [tdRow, ...candidates] = rows;
  if (!tdRow || tdRow['#'] !== 0) return null;
  return { td: tdWithExportRangeOf(tdRow, 'td.'), page: candidatePageOf(candidates, page.first, page.withHosts) };
}

/** How many hosts accept the TD (the connection's totalCount). */
export async function countPlacementCandidates(db: Database, q: Omit<CandidateQuery, 'first' | 'after'>): Promise<number> {
  const params: unknown[] = [];
  const { where } = whereClause({ ...q, first: 0 }, params);
  const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM host_capacity c WHERE ${where}`, params);
  return rows[0]?.n ?? 0;
}

export interface FitCounts {
  /** Module version, platform name or kernel name (null: hosts with no module); null key on the fleet row. */
  key: string | null;
  acceptingHosts: number;
  refusingHosts: number;
  /** For refusing hosts: how many fail each R5 condition (a host may fail several). */
  blockers: { code: string; hosts: number }[];
}

export interface FitSummary {
  vcpus: number;
  fleet: FitCounts;
  byModule: FitCounts[];
  byPlatform: FitCounts[];
  byKernel: FitCounts[];
}

// The R5 blockers of tdFitBlockers() per host (src/planning/rules-sql.ts), counted by module, platform and kernel.
const fitSummarySql = (blockers: string): string => `
WITH f AS MATERIALIZED (
  SELECT m.version AS module_version, p.name AS platform_name, k.name AS kernel_name,
         ${blockers} AS blockers
  FROM host_capacity c
  JOIN platform p ON p.id = c.platform_id
  JOIN kernel k ON k.id = c.kernel_id
  LEFT JOIN tdx_module m ON m.id = c.module_id
)
SELECT CASE WHEN GROUPING(module_version, platform_name, kernel_name) = 7 THEN 'fleet'
            WHEN GROUPING(module_version) = 0 THEN 'module' WHEN GROUPING(platform_name) = 0 THEN 'platform' ELSE 'kernel' END AS dim,
       CASE WHEN GROUPING(module_version) = 0 THEN module_version WHEN GROUPING(platform_name) = 0 THEN platform_name
            WHEN GROUPING(kernel_name) = 0 THEN kernel_name END AS key,
       code, count(*)::int AS hosts
FROM (SELECT module_version, platform_name, kernel_name, c AS code
      FROM f, LATERAL unnest(CASE WHEN cardinality(blockers) = 0 THEN ARRAY['ACCEPTS'] ELSE blockers || ARRAY['REFUSES'] END) AS c) x
GROUP BY GROUPING SETS ((code), (module_version, code), (platform_name, code), (kernel_name, code))
`;

/** The planner's "what fits where" for a TD of `vcpus`: accepting hosts and blocker counts, by module, platform and kernel. */
export async function fitSummary(db: Database, vcpus: number): Promise<FitSummary> {
  const params: unknown[] = [vcpus];
  const param = paramsOf(params);
  const { rows } = await db.pool.query<{ dim: 'fleet' | 'module' | 'platform' | 'kernel'; key: string | null; code: string; hosts: number }>(
    fitSummarySql(blockersSql({ vcpus: '$1', memoryMiB: 'NULL' }, param)),
    params,
  );
  const groups = {
    fleet: new Map<string | null, FitCounts>(),
    module: new Map<string | null, FitCounts>(),
    platform: new Map<string | null, FitCounts>(),
    kernel: new Map<string | null, FitCounts>(),
  };
  const get = (dim: keyof typeof groups, key: string | null): FitCounts => {
    let g = groups[dim].get(key);
    if (!g) groups[dim].set(key, (g = { key, acceptingHosts: 0, refusingHosts: 0, blockers: [] }));
    return g;
  };
  for (const r of rows) {
    const g = get(r.dim, r.dim === 'fleet' ? null : r.key);
    if (r.code === 'ACCEPTS') g.acceptingHosts = r.hosts;
    else if (r.code === 'REFUSES') g.refusingHosts = r.hosts;
    else g.blockers.push({ code: r.code, hosts: r.hosts });
  }
  const finish = (m: Map<string | null, FitCounts>): FitCounts[] =>
    [...m.values()].map((g) => ({ ...g, blockers: g.blockers.sort(byBlockerCodeOrder) })).sort(byGroupKey);
  return {
    vcpus,
    fleet: finish(groups.fleet)[0] ?? { key: null, acceptingHosts: 0, refusingHosts: 0, blockers: [] },
    byModule: finish(groups.module),
    byPlatform: finish(groups.platform),
    byKernel: finish(groups.kernel),
  };
}
