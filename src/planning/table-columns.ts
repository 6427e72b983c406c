// Every scalar column of the inventory tables, Prisma's field name to SQL, for the statements that
// build Prisma-shaped rows by hand (src/planning/host-page.ts, src/planning/placement.ts).
import pg from 'pg';
import type { Prisma } from '../db/client.js';

// Every scalar column of each table, Prisma's field name to SQL. `satisfies` keeps each list
// complete: a column added to the schema fails the type check here until it is mapped.
// Enums as text (node-postgres does not parse arrays of enum types).
export const HOST_COLUMNS = {
  id: 'id',
  hostname: 'hostname',
  platformId: 'platform_id',
  moduleId: 'module_id',
  kernelId: 'kernel_id',
  presentCpus: 'present_cpus',
  guestKeyIds: 'guest_key_ids',
  allocationRatio: 'allocation_ratio',
  kvmIntelTdx: 'kvm_intel_tdx',
  memoryMiB: 'memory_mib',
  reservedMemoryMiB: 'reserved_memory_mib',
  tdCount: 'td_count',
  allocatedVcpus: 'allocated_vcpus',
  knownMemoryTdCount: 'known_memory_td_count',
  knownMemoryTdVcpus: 'known_memory_td_vcpus',
  knownMemoryTdMiB: 'known_memory_td_mib',
  generation: 'generation',
} as const satisfies Record<Prisma.HostScalarFieldEnum, string>;
export const KERNEL_COLUMNS = {
  id: 'id',
  name: 'name',
  kvmMaxVcpus: 'kvm_max_vcpus',
  tdxVcpuPolicy: 'tdx_vcpu_policy::text',
  tdxInitFailure: 'tdx_init_failure::text',
  moduleMetadata: 'module_metadata::text',
  generation: 'generation',
} as const satisfies Record<Prisma.KernelScalarFieldEnum, string>;
export const MODULE_COLUMNS = {
  id: 'id',
  version: 'version',
  maxVcpusPerTd: 'max_vcpus_per_td',
  features: 'features::text[]',
  minExportVersion: 'min_export_version',
  maxExportVersion: 'max_export_version',
  minImportVersion: 'min_import_version',
  maxImportVersion: 'max_import_version',
  tdcsPages: 'tdcs_pages',
  tdvpsPages: 'tdvps_pages',
  generation: 'generation',
} as const satisfies Record<Prisma.TdxModuleScalarFieldEnum, string>;
export const PLATFORM_COLUMNS = {
  id: 'id',
  name: 'name',
  sockets: 'sockets',
  coresPerSocket: 'cores_per_socket',
  threadsPerCore: 'threads_per_core',
  generation: 'generation',
} as const satisfies Record<Prisma.PlatformScalarFieldEnum, string>;
// A TD's columns, in Prisma's order (a hosts page reads them as text arrays: TD_COLUMN_DECODERS).
export const TD_COLUMNS = {
  id: 'id',
  name: 'name',
  vcpus: 'vcpus',
  memoryMiB: 'memory_mib',
  hostId: 'host_id',
  migratable: 'migratable',
  generation: 'generation',
} as const satisfies Record<Prisma.TdScalarFieldEnum, string>;

/**
 * `json_build_object('field', alias.column, ...)` of `fields` (ints, text, text arrays, booleans and
 * nulls keep Prisma's types), and `more` pairs of SQL: `[['platforms', '(SELECT ...)']]`.
 */
export function jsonObjectSql(
  alias: string,
  columns: Readonly<Record<string, string>>,
  fields: readonly string[],
  more: readonly (readonly [string, string])[] = [],
): string {
  const pairs = [...fields.map((field) => [field, `${alias}.${columns[field]}`] as const), ...more];
  return `json_build_object(${pairs.map(([key, value]) => `'${key}', ${value}`).join(', ')})`;
}

/** How a column's text (`column::text` in an array of text) becomes Prisma's value. */
type TextDecoder = (text: string) => unknown;
const integer: TextDecoder = (text) => Number(text);
// float8's text is its shortest exact form (PostgreSQL 12 on), which Number reads back exactly.
const float: TextDecoder = (text) => Number(text);
// boolean::text is 'true' or 'false'; a boolean in a record literal is 't' or 'f'.
const boolean: TextDecoder = (text) => text === 'true';
const recordBoolean: TextDecoder = (text) => text === 't';
const text: TextDecoder = (value) => value;

/** Each TD column's decoder from its text (completeness checked as TD_COLUMNS'). */
export const TD_COLUMN_DECODERS = {
  id: integer,
  name: text,
  vcpus: integer,
  memoryMiB: integer,
  hostId: integer,
  migratable: boolean,
  generation: integer,
} as const satisfies Record<Prisma.TdScalarFieldEnum, TextDecoder>;

/**
 * `array[alias.column::text, ...]` of `fields`: a row as an array of text, which PostgreSQL builds
 * for less CPU than json_build_array (one host's statement: 358 against 238 CPU us, issue 17)
 * and which an `array(SELECT ...)::text` of rows sends as one literal (textRowsPicker reads it).
 */
export function textArraySql(alias: string, columns: Readonly<Record<string, string>>, fields: readonly string[]): string {
  // array[] has no type: PostgreSQL refuses it.
  if (fields.length === 0) throw new Error('textArraySql: no column');
  return `array[${fields.map((field) => `${alias}.${columns[field]}::text`).join(', ')}]`;
}

// node-postgres' own parser of a text[] literal (type oid 1009): every escape, quote and NULL PostgreSQL writes.
// (pg-types' TypeId enum lists no array types.)
const TEXT_ARRAY_OID = 1009 as Parameters<typeof pg.types.getTypeParser>[0];
const parseTextArray = pg.types.getTypeParser(TEXT_ARRAY_OID, 'text') as (literal: string) => unknown;

/** Each host column's decoder from its text in a record literal (recordSql; completeness checked as HOST_COLUMNS'). */
export const HOST_RECORD_DECODERS = {
  id: integer,
  hostname: text,
  platformId: integer,
  moduleId: integer,
  kernelId: integer,
  presentCpus: integer,
  guestKeyIds: integer,
  allocationRatio: float,
  kvmIntelTdx: recordBoolean,
  memoryMiB: integer,
  reservedMemoryMiB: integer,
  tdCount: integer,
  allocatedVcpus: integer,
  knownMemoryTdCount: integer,
  knownMemoryTdVcpus: integer,
  knownMemoryTdMiB: integer,
  generation: integer,
} as const satisfies Record<Prisma.HostScalarFieldEnum, TextDecoder>;

type Decode = readonly (readonly [string, TextDecoder])[];

function fromValues(decode: Decode, values: readonly (string | null)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < decode.length; i++) {
    const [field, decodeText] = decode[i]!;
    const value = values[i];
    out[field] = value === null || value === undefined ? null : decodeText(value);
  }
  return out;
}

/**
 * The objects of `fields` from a two-dimensional text array literal of textArraySql rows of the
 * same fields (`{{1,a,t},{2,b,f}}`, `{}` for none), each value decoded as Prisma types it. Without a
 * double quote in the literal, no element is quoted or escaped (PostgreSQL quotes any element with a
 * space, comma, brace, quote or backslash, an empty one and the text NULL), so one pass reads it as
 * it stands, a bare NULL being null: as fast as JSON.parse of the same rows (issue 17), where
 * node-postgres' general parser takes four times as long. With a quote, that parser reads it.
 */
export function textRowsPicker(fields: readonly string[], decoders: Readonly<Record<string, TextDecoder>>): (literal: string) => Record<string, unknown>[] {
  const decode: Decode = fields.map((field) => [field, decoders[field]!] as const);
  const last = decode.length - 1;
  return (literal) => {
    if (literal === '{}') return [];
    if (literal.includes('"')) return (parseTextArray(literal) as (string | null)[][]).map((values) => fromValues(decode, values));
    const rows: Record<string, unknown>[] = [];
    // Each row is `{v,v,...}`, rows joined by commas, all inside one pair of braces.
    for (let at = 2; at < literal.length - 1; at += 2) {
      const out: Record<string, unknown> = {};
      for (let i = 0; i <= last; i++) {
        const end = literal.indexOf(i === last ? '}' : ',', at);
        if (end < 0) throw new Error(`textRowsPicker: not a literal of ${decode.length}-column rows: ${literal.slice(0, 80)}`);
        const value = literal.slice(at, end);
        const [field, decodeText] = decode[i]!;
        out[field] = value === 'NULL' ? null : decodeText(value);
        at = end + 1;
      }
      rows.push(out);
    }
    return rows;
  };
}

/**
 * `ROW(value, ...)::text` of the SQL `values`: a row as one record literal, `(1,a,t,)`, which
 * PostgreSQL writes for about the CPU of the plain columns (an array of text costs it a fifth more)
 * and the driver reads as one value (recordPicker reads it). Build it above the LIMIT of a page:
 * PostgreSQL computes a select list before a Sort, so a page sorted without an index would build a
 * record for every host of the table (a page of the 100,000-host fleet by present CPUs: 98 to 117 ms against 28 to 43).
 */
export function recordSql(values: readonly string[]): string {
  if (values.length === 0) throw new Error('recordSql: no column');
  return `ROW(${values.join(', ')})::text`;
}

/** A record literal's fields: null where unquoted and empty; quoted ones unescaped (record_out's quoting). */
function recordValues(literal: string): (string | null)[] {
  const values: (string | null)[] = [];
  let at = 1;
  const end = literal.length - 1;
  if (literal[0] !== '(' || literal[end] !== ')') throw new Error(`not a record literal: ${literal.slice(0, 80)}`);
  for (;;) {
    let value = '';
    let quoted = false;
    // A field runs to the next comma (or the closing parenthesis) outside quotes.
    while (at < end && literal[at] !== ',') {
      const ch = literal[at]!;
      if (ch === '"') {
        quoted = true;
        at++;
        for (;;) {
          if (at >= end) throw new Error(`unterminated quote in a record literal: ${literal.slice(0, 80)}`);
          const q = literal[at]!;
          if (q === '\\') {
            value += literal[at + 1];
            at += 2;
          } else if (q === '"') {
            if (literal[at + 1] === '"') {
              value += '"';
              at += 2;
            } else {
              at++;
              break;
            }
          } else {
            value += q;
            at++;
          }
        }
      } else if (ch === '\\') {
        value += literal[at + 1];
        at += 2;
      } else {
        value += ch;
        at++;
      }
    }
    values.push(value === '' && !quoted ? null : value);
    if (at >= end) return values;
    at++; // the comma
  }
}

/**
 * The object of `fields` from a recordSql literal of the same fields, each value decoded as Prisma
 * types it. PostgreSQL quotes a field with a quote, backslash, parenthesis, comma or space, and an
 * empty one: without a double quote in the literal, nothing is quoted or escaped, and one pass of
 * slices reads it, an empty field being null. With one, recordValues reads it.
 */
export function recordPicker(fields: readonly string[], decoders: Readonly<Record<string, TextDecoder>>): (literal: string) => Record<string, unknown> {
  const decode: Decode = fields.map((field) => [field, decoders[field]!] as const);
  const last = decode.length - 1;
  return (literal) => {
    if (literal.includes('"')) {
      const values = recordValues(literal);
      if (values.length !== decode.length) throw new Error(`a record literal of ${values.length} fields, not ${decode.length}: ${literal.slice(0, 80)}`);
      return fromValues(decode, values);
    }
    const out: Record<string, unknown> = {};
    let from = 1;
    for (let i = 0; i <= last; i++) {
      const end = i === last ? literal.length - 1 : literal.indexOf(',', from);
      if (end < 0 || (i === last && literal.indexOf(',', from) >= 0))
        throw new Error(`not a record literal of ${decode.length} fields: ${literal.slice(0, 80)}`);
      const [field, decodeText] = decode[i]!;
      out[field] = end === from ? null : decodeText(literal.slice(from, end));
      from = end + 1;
    }
    return out;
  };
}

/** `, alias.column AS "prefixfield"` for each of `fields`. */
export function columnsSql(alias: string, prefix: string, columns: Readonly<Record<string, string>>, fields: readonly string[]): string {
  return fields.map((field) => `, ${alias}.${columns[field]} AS "${prefix}${field}"`).join('');
}

/**
 * Takes the `fields` of a row whose columns were named `prefix` + field. The column names are
 * built once, not once per row and field (a string built per look-up cost 4% of a capacity page's
 * CPU: bench/README.md).
 */
export function columnPicker(prefix: string, fields: readonly string[]): (row: Record<string, unknown>) => Record<string, unknown> {
  const keys = fields.map((field) => [field, prefix + field] as const);
  return (row) => {
    const out: Record<string, unknown> = {};
    for (const [field, key] of keys) out[field] = row[key];
    return out;
  };
}
