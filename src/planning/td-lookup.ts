// One TD by name, as Prisma's `td.findUnique` returns it for the two shapes `td(name:)` asks most:
// its columns, and its columns with its host's module's export range (what migrationTargets reads,
// R6). One prepared statement: Prisma's findUnique took about 0.65 ms of such a request's 2.2 ms
// (bench/README.md, "The direct path", issue 17). Any other shape stays Prisma's.
import type { Database } from '../db/client.js';
import { TD_COLUMN_NAMES } from './host-page.js';
import { TD_COLUMNS } from './table-columns.js';

/** A TD's columns, as Prisma returns them. */
export interface TdColumns {
  id: number;
  name: string;
  vcpus: number;
  memoryMiB: number | null;
  hostId: number | null;
  migratable: boolean;
  generation: number;
}

/** Its host's module's export range: null for a planned TD, `module` null on a host without one. */
export interface TdHostExportRange {
  host: { module: { minExportVersion: number; maxExportVersion: number } | null } | null;
}

const tdSelect = (prefix: string): string => TD_COLUMN_NAMES.map((field) => `t.${TD_COLUMNS[field]} AS "${prefix}${field}"`).join(', ');
const BY_NAME = `SELECT ${tdSelect('')} FROM td t WHERE t.name = $1`;

/**
 * The select list and FROM of one TD (alias t) with its host's module's export range, its columns
 * named `prefix` + field, for a statement whose parameter `nameParam` is the TD's name;
 * `tdWithExportRangeOf` reads its row. Also the first part of migrationTargetsOfTd's statement
 * (./placement.ts).
 */
export function tdWithExportRangeSql(nameParam: string, prefix = ''): { select: string; from: string } {
  return {
    select: `${tdSelect(prefix)}, h.id AS "${prefix}h.id", m.id AS "${prefix}m.id", m.min_export_version AS "${prefix}m.minExportVersion",
      m.max_export_version AS "${prefix}m.maxExportVersion"`,
    from: `td t LEFT JOIN host h ON h.id = t.host_id LEFT JOIN tdx_module m ON m.id = h.module_id WHERE t.name = ${nameParam}`,
  };
}

export function tdWithExportRangeOf(row: Record<string, unknown>, prefix = ''): TdColumns & TdHostExportRange {
  const td = Object.fromEntries(TD_COLUMN_NAMES.map((field) => [field, row[prefix + field]])) as unknown as TdColumns;
  const module =
    row[`${prefix}m.id`] === null
      ? null
      : { minExportVersion: row[`${prefix}m.minExportVersion`] as number, maxExportVersion: row[`${prefix}m.maxExportVersion`] as number };
  return { ...td, host: row[`${prefix}h.id`] === null ? null : { module } };
}

/** How many columns tdWithExportRangeSql selects. */
export const TD_WITH_EXPORT_RANGE_WIDTH = TD_COLUMN_NAMES.length + 4;

const WITH_EXPORT_RANGE = tdWithExportRangeSql('$1');
const BY_NAME_WITH_EXPORT_RANGE = `SELECT ${WITH_EXPORT_RANGE.select} FROM ${WITH_EXPORT_RANGE.from}`;

export async function tdByName(db: Database, name: string): Promise<TdColumns | null> {
  const { rows } = await db.pool.query<TdColumns>(BY_NAME, [name]);
  return rows[0] ?? null;
}

export async function tdByNameWithExportRange(db: Database, name: string): Promise<(TdColumns & TdHostExportRange) | null> {
  const { rows } = await db.pool.query<Record<string, unknown>>(BY_NAME_WITH_EXPORT_RANGE, [name]);
  return rows[0] ? tdWithExportRangeOf(rows[0]) : null;
}
