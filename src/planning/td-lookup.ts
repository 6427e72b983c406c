// One TD by name, as Prisma's `td.findUnique` returns it for the two shapes `td(name:)` asks most:
// its columns, and its columns with its host's module's export range (what migrationTargets reads,
// R6). One prepared statement for the names asked in one tick: Prisma's findUnique took about 0.65 ms
// of such a request's 2.2 ms (bench/README.md, "The direct path", issue 17). Any other shape stays
// Prisma's.
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
const BY_NAMES = `SELECT ${tdSelect('')} FROM td t WHERE t.name = ANY($1::text[])`;

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

const WITH_EXPORT_RANGE = tdWithExportRangeSql('ANY($1::text[])');
const BY_NAMES_WITH_EXPORT_RANGE = `SELECT ${WITH_EXPORT_RANGE.select} FROM ${WITH_EXPORT_RANGE.from}`;

interface Batch {
  names: Set<string>;
  rows: Promise<Map<string, Record<string, unknown>>>;
}

// Look-ups made for one `batch` key (a request's context) in the same tick share one statement, as
// Prisma batches its findUnique calls: `{ a: td(name: "x") { name } b: td(name: "y") { name } }` is one
// round trip, not one per alias. Each caller gets an object of its own, as from Prisma.
const batches = new WeakMap<object, Map<string, Batch>>();

function batched<T>(batch: object, statement: string, read: (row: Record<string, unknown>) => T, db: Database, name: string): Promise<T | null> {
  let byStatement = batches.get(batch);
  if (!byStatement) batches.set(batch, (byStatement = new Map()));
  let pending = byStatement.get(statement);
  if (!pending) {
    const names = new Set<string>();
    const rows = new Promise<void>((resolve) => queueMicrotask(resolve)).then(async () => {
      byStatement.delete(statement);
      const { rows } = await db.pool.query<Record<string, unknown>>(statement, [[...names]]);
      return new Map(rows.map((row) => [row.name as string, row]));
    });
    byStatement.set(statement, (pending = { names, rows }));
  }
  pending.names.add(name);
  return pending.rows.then((rows) => {
    const row = rows.get(name);
    return row ? read(row) : null;
  });
}

/** The TD named `name`, or null; batched with the other look-ups made for `batch` in the same tick. */
export function tdByName(db: Database, name: string, batch: object): Promise<TdColumns | null> {
  return batched(batch, BY_NAMES, (row) => ({ ...row }) as unknown as TdColumns, db, name);
}

/** The same with its host's module's export range. */
export function tdByNameWithExportRange(db: Database, name: string, batch: object): Promise<(TdColumns & TdHostExportRange) | null> {
  return batched(batch, BY_NAMES_WITH_EXPORT_RANGE, (row) => tdWithExportRangeOf(row), db, name);
}
