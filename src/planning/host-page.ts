// A page of hosts in one hand-written statement, for the `hosts` connection when its nodes need no
// more than this statement carries: every host column, chosen scalar columns of the host's
// kernel, module (with its platforms' ids) and platform, and its first TDs by id (each host's as one
// array of text rows: measured cheaper than a LATERAL join's row per TD, and than JSON, bench/README.md)
// and their count. The page is the one Prisma's findMany
// returns for the same where, orderBy, cursor, take and skip (Pothos' cursor connection), row for
// row and value for value: test/planning/host-page.test.ts compares both on random fleets.
// Rows mapped by hand cost less CPU than Prisma's result mapping (bench/README.md, issue 17).
import type { Database, Prisma } from '../db/client.js';
import {
  HOST_RECORD_DECODERS,
  HOST_COLUMNS,
  jsonObjectSql,
  KERNEL_COLUMNS,
  MODULE_COLUMNS,
  PLATFORM_COLUMNS,
  TD_COLUMN_DECODERS,
  TD_COLUMNS,
  recordPicker,
  recordSql,
  textArraySql,
  textRowsPicker,
} from './table-columns.js';
import { sqlRowCount } from './sql-literals.js';

/** A host's columns, as Prisma loads them. */
type HostRow = Prisma.HostGetPayload<object>;

export type HostColumn = keyof typeof HOST_COLUMNS;
export const HOST_COLUMN_NAMES = Object.keys(HOST_COLUMNS) as HostColumn[];
export type KernelColumn = keyof typeof KERNEL_COLUMNS;
export type TdColumn = keyof typeof TD_COLUMNS;
export const TD_COLUMN_NAMES = Object.keys(TD_COLUMNS) as TdColumn[];
export type ModuleColumn = keyof typeof MODULE_COLUMNS;
export type PlatformColumn = keyof typeof PLATFORM_COLUMNS;

export const isKernelColumn = (field: string): field is KernelColumn => Object.hasOwn(KERNEL_COLUMNS, field);
export const isModuleColumn = (field: string): field is ModuleColumn => Object.hasOwn(MODULE_COLUMNS, field);
export const isPlatformColumn = (field: string): field is PlatformColumn => Object.hasOwn(PLATFORM_COLUMNS, field);
export const KERNEL_COLUMN_NAMES = Object.keys(KERNEL_COLUMNS) as KernelColumn[];
export const MODULE_COLUMN_NAMES = Object.keys(MODULE_COLUMNS) as ModuleColumn[];
export const PLATFORM_COLUMN_NAMES = Object.keys(PLATFORM_COLUMNS) as PlatformColumn[];

/**
 * What each row carries besides the host's columns, as Prisma's `include` of the same relations
 * would: a relation absent here is absent from the row; a present one has exactly these columns
 * (the module, with `platforms`, also its platforms as `[{ platformId }]`).
 */
export interface HostRowShape {
  /**
   * The host's columns (Prisma's `select` of them, beside the relations below); absent: every column,
   * as Prisma's `include`. They must hold id, the key of each relation asked for (kernelId, moduleId,
   * platformId) and the column the page is ordered by: hostPage refuses a shape without them.
   */
  host?: readonly HostColumn[] | undefined;
  kernel?: readonly KernelColumn[] | undefined;
  module?: { columns: readonly ModuleColumn[]; platforms: boolean } | undefined;
  platform?: readonly PlatformColumn[] | undefined;
  /**
   * The host's first `take` TDs by id, with `columns` (Prisma's `tds: { orderBy: { id: 'asc' }, take, skip: 0 }`
   * has every column; the query's TD fields need only theirs).
   */
  tds?: { take: number; columns: readonly TdColumn[] } | undefined;
  /** `_count: { tds: n }` (Prisma's `_count: { select: { tds: true } }`). */
  tdCount?: boolean | undefined;
}

/** A reference to a kernel, module or platform: by id or by its unique name (version for a module). */
export type KeyRef = { id: number } | { name: string };

/** The host filter conditions this statement runs; every given one must hold. */
export interface HostPageFilter {
  /** The one host of this name (`host(hostname:)`). */
  hostname?: string | undefined;
  module?: KeyRef | undefined;
  hasModule?: boolean | undefined;
  platform?: KeyRef | undefined;
  kernel?: KeyRef | undefined;
  tdxEnabled?: boolean | undefined;
  tdxDisabledReason?: string | undefined;
  minKvmCapMaxVcpus?: number | undefined;
  kvmLoads?: boolean | undefined;
  overFull?: boolean | undefined;
  drift?: boolean | undefined;
}

export const HOST_ORDER_COLUMNS = ['hostname', 'presentCpus', 'guestKeyIds', 'tdCount', 'allocatedVcpus'] as const;
export type HostOrderColumn = (typeof HOST_ORDER_COLUMNS)[number];

export interface HostPageQuery {
  filter: HostPageFilter;
  /** Sorted by this column (then id, the same way); null: by id ascending. */
  order: { column: HostOrderColumn; direction: 'asc' | 'desc' } | null;
  /** Prisma's cursor pagination: rows from the cursor's row on (negative take: backwards), skipping `skip`. */
  take: number;
  skip: number;
  cursor?: { id: number } | undefined;
  shape: HostRowShape;
}

/**
 * The page's select list and the row picker for a set of host columns (a few sets per server: cached).
 * The page selects the columns; above its LIMIT, the statement sends them as one record literal, `h`
 * (`record`, recordSql): the driver then reads one value per host instead of up to 17, for about the
 * same PostgreSQL CPU (the capacity page: server CPU 0.81 to 0.91 of what it was, bench/README.md, issue 17).
 */
interface HostSelect {
  sql: string;
  record: string;
  pick: (literal: string) => Record<string, unknown>;
}
const hostSelects = new Map<string, HostSelect>();
function hostSelect(columns: readonly HostColumn[]): HostSelect {
  const wanted = new Set(columns);
  // In the table's order, whatever the order asked: one text (and one prepared statement) per set.
  const fields = HOST_COLUMN_NAMES.filter((c) => wanted.has(c));
  const key = fields.join();
  let select = hostSelects.get(key);
  if (!select) {
    select = {
      sql: fields.map((field) => `h.${HOST_COLUMNS[field]} AS "${field}"`).join(', '),
      record: `${recordSql(fields.map((field) => `h."${field}"`))} AS "h"`,
      pick: recordPicker(fields, HOST_RECORD_DECODERS),
    };
    hostSelects.set(key, select);
  }
  return select;
}

/** The host columns hostPage reads itself: id, the order column and the keys of the relations the shape carries. */
export function hostColumnsReadBy(order: HostColumn | undefined, shape: HostRowShape): HostColumn[] {
  const read: HostColumn[] = ['id'];
  if (order) read.push(order);
  if (shape.kernel) read.push('kernelId');
  if (shape.module) read.push('moduleId');
  if (shape.platform) read.push('platformId');
  return read;
}

function refSql(column: string, table: string, key: string, ref: KeyRef, params: unknown[]): string {
  if ('id' in ref) {
    params.push(ref.id);
    return `h.${column} = $${params.length}`;
  }
  params.push(ref.name);
  return `h.${column} = (SELECT id FROM ${table} WHERE ${key} = $${params.length})`;
}

function whereSql(filter: HostPageFilter, params: unknown[]): string[] {
  const and: string[] = [];
  if (filter.hostname != null) {
    params.push(filter.hostname);
    and.push(`h.hostname = $${params.length}`);
  }
  if (filter.module) and.push(refSql('module_id', 'tdx_module', 'version', filter.module, params));
  if (filter.hasModule != null) and.push(`h.module_id IS ${filter.hasModule ? 'NOT NULL' : 'NULL'}`);
  if (filter.platform) and.push(refSql('platform_id', 'platform', 'name', filter.platform, params));
  if (filter.kernel) and.push(refSql('kernel_id', 'kernel', 'name', filter.kernel, params));
  // The capacity conditions on the host_tdx_status view, as Prisma's `tdxStatus: { is: ... }` reads them.
  const status: string[] = [];
  const param = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.tdxEnabled != null) status.push(`s.tdx_enabled = ${param(filter.tdxEnabled)}`);
  if (filter.tdxDisabledReason != null) status.push(`${param(filter.tdxDisabledReason)}::text = ANY (s.tdx_disabled_reasons::text[])`);
  if (filter.minKvmCapMaxVcpus != null) status.push(`s.kvm_cap_max_vcpus >= ${param(filter.minKvmCapMaxVcpus)}`);
  if (filter.kvmLoads != null) status.push(`s.kvm_loads = ${param(filter.kvmLoads)}`);
  if (filter.overFull != null) status.push(`s.over_full = ${param(filter.overFull)}`);
  if (status.length) and.push(`EXISTS (SELECT 1 FROM host_tdx_status s WHERE s.host_id = h.id AND ${status.join(' AND ')})`);
  if (filter.drift != null) and.push(`EXISTS (SELECT 1 FROM host_observation o WHERE o.host_id = h.id AND o.drift = ${param(filter.drift)})`);
  return and;
}

/**
 * How many hosts `filter` keeps: the `hosts` connection's totalCount, as Prisma's `host.count({ where })`
 * counts them (test/planning/host-page.test.ts compares both). Prisma counts through a subquery with
 * `OFFSET $1`; this plain count costs PostgreSQL less on every hosts page that asks (bench/README.md).
 */
export async function hostCount(db: Database, filter: HostPageFilter): Promise<number> {
  const params: unknown[] = [];
  const and = whereSql(filter, params);
  const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM host h${and.length ? ` WHERE ${and.join(' AND ')}` : ''}`, params);
  return rows[0]!.n;
}

/** The [id, row] pairs one row of the page carries in `column`, by id (rows shared by every host that refers to them). */
function byId(rows: readonly Record<string, unknown>[], column: string): Map<number, Record<string, unknown>> {
  for (const row of rows) {
    const pairs = row[column] as [number, Record<string, unknown>][] | null;
    if (pairs) return new Map(pairs);
  }
  return new Map();
}

/** The rows Prisma's `host.findMany({ include, where, orderBy, cursor, take, skip })` returns for `q`. */
export async function hostPage(db: Database, q: HostPageQuery): Promise<HostRow[]> {
  const missing = q.shape.host && hostColumnsReadBy(q.order?.column, q.shape).find((c) => !q.shape.host!.includes(c));
  if (missing) throw new Error(`hostPage: the host columns of the shape lack ${missing}, which the statement reads`);
  const { kernel, module, platform, tds, tdCount } = q.shape;
  const nested = !!(kernel || module || platform || tds || tdCount);
  const host = hostSelect(q.shape.host ?? HOST_COLUMN_NAMES);
  const params: unknown[] = [];
  const and = whereSql(q.filter, params);
  const column = q.order ? `h.${HOST_COLUMNS[q.order.column]}` : null;
  // Backwards (negative take), Prisma reads in the opposite order from the cursor, then reverses.
  const backwards = q.take < 0;
  const ascending = ((q.order?.direction ?? 'asc') === 'asc') !== backwards;
  const dir = ascending ? 'ASC' : 'DESC';
  if (q.cursor) {
    params.push(q.cursor.id);
    const cmp = ascending ? '>=' : '<=';
    // No cursor row: the comparison is null and the page empty, as Prisma's.
    and.push(
      column
        ? `(${column}, h.id) ${cmp} (SELECT ${column.replace('h.', 'c.')}, c.id FROM host c WHERE c.id = $${params.length})`
        : `h.id ${cmp} (SELECT c.id FROM host c WHERE c.id = $${params.length})`,
    );
  }
  const orderSql = column ? `${column} ${dir}, h.id ${dir}` : `h.id ${dir}`;
  // Row counts as literals: sql-literals.ts says why.
  const page = `SELECT ${host.sql} FROM host h${and.length ? ` WHERE ${and.join(' AND ')}` : ''}
    ORDER BY ${orderSql} LIMIT ${sqlRowCount(Math.abs(q.take))} OFFSET ${sqlRowCount(q.skip)}`;
  const outerOrder = column ? `h."${q.order!.column}" ${dir}, h.id ${dir}` : `h.id ${dir}`;
  let sql = `SELECT ${host.record} FROM (${page}) h ORDER BY ${outerOrder}`;
  if (nested) {
    // The page is chosen first (its own LIMIT, planned alone). Its kernels, modules and platforms
    // come once each, not once per host: as JSON [id, row] pairs on one row of the page (the others
    // carry null), which the rows then share. Per host they were most of the statement's values:
    // the capacity page's driver and PostgreSQL time (bench/README.md, "Each kernel, module and
    // platform once").
    // A page of one host (host(hostname:)) reads its own: the CTE and the window cost PostgreSQL more
    // than they save there (one host: 0.22 against 0.17 PostgreSQL CPU ms per request).
    const single = Math.abs(q.take) <= 1;
    const once = (alias: string, table: string, key: string, object: string) =>
      single
        ? `, (SELECT json_build_array(json_build_array(${alias}.id, ${object})) FROM ${table} ${alias} WHERE ${alias}.id = h."${key}") AS "${alias}.rows"`
        : `, CASE WHEN h."#" = 1 THEN (SELECT json_agg(json_build_array(${alias}.id, ${object})) FROM ${table} ${alias} WHERE ${alias}.id IN (SELECT "${key}" FROM page)) END AS "${alias}.rows"`;
    const platformIds = `(SELECT coalesce(json_agg(json_build_object('platformId', mp.platform_id)), '[]') FROM module_platform mp WHERE mp.module_id = m.id)`;
    const moduleObject = module && jsonObjectSql('m', MODULE_COLUMNS, module.columns, module.platforms ? [['platforms', platformIds]] : []);
    sql = `${single ? '' : `WITH page AS (${page})`}
    SELECT ${host.record}${kernel ? once('k', 'kernel', 'kernelId', jsonObjectSql('k', KERNEL_COLUMNS, kernel)) : ''}${
      moduleObject ? once('m', 'tdx_module', 'moduleId', moduleObject) : ''
    }${platform ? once('p', 'platform', 'platformId', jsonObjectSql('p', PLATFORM_COLUMNS, platform)) : ''}${
      tds
        ? `, array(SELECT ${textArraySql('t', TD_COLUMNS, tds.columns)} FROM td t WHERE t.host_id = h.id ORDER BY t.id LIMIT ${sqlRowCount(tds.take)})::text AS "t.rows"`
        : ''
    }${tdCount ? `, (SELECT count(*)::int FROM td t WHERE t.host_id = h.id) AS "t.count"` : ''}
    FROM ${single ? `(${page})` : `(SELECT page.*, row_number() OVER () AS "#" FROM page)`} h
    ORDER BY ${outerOrder}`;
  }
  const { rows } = await db.pool.query<Record<string, unknown>>(sql, params);
  if (!nested) {
    const hosts = rows.map((row) => host.pick(row.h as string) as HostRow);
    return backwards ? hosts.reverse() : hosts;
  }
  const kernels = kernel && byId(rows, 'k.rows');
  const modules = module && byId(rows, 'm.rows');
  const platforms = platform && byId(rows, 'p.rows');
  // Each host's TDs as one text array literal (textArraySql: cheaper for PostgreSQL than JSON).
  const pickTds = tds && textRowsPicker(tds.columns, TD_COLUMN_DECODERS);
  const hosts = rows.map((row): HostRow => {
    const out = host.pick(row.h as string);
    if (kernels) out.kernel = kernels.get(out.kernelId as number);
    // No module: null, as Prisma's (a host's kernel and platform are never null).
    if (modules) out.module = out.moduleId === null ? null : modules.get(out.moduleId as number);
    if (platforms) out.platform = platforms.get(out.platformId as number);
    if (pickTds) out.tds = pickTds(row['t.rows'] as string);
    if (tdCount) out._count = { tds: row['t.count'] };
    return out as HostRow;
  });
  return backwards ? hosts.reverse() : hosts;
}
