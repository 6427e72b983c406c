// Every scalar column of the inventory tables, Prisma's field name to SQL, for the statements that
// build Prisma-shaped rows by hand (src/planning/host-page.ts, src/planning/placement.ts).
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
// A TD's columns, in Prisma's order, as pairs of json_build_object (json keeps these types: ints,
// text, booleans and nulls come back as Prisma gives them).
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

/**
 * `json_build_array(alias.column, ...)` of `fields`, in their order: the same values as jsonObjectSql
 * without the keys, which PostgreSQL writes and the server parses once per row (arrayPicker reads them).
 */
export function jsonArraySql(alias: string, columns: Readonly<Record<string, string>>, fields: readonly string[]): string {
  return `json_build_array(${fields.map((field) => `${alias}.${columns[field]}`).join(', ')})`;
}

/** The object of `fields` from a jsonArraySql array of the same fields. */
export function arrayPicker(fields: readonly string[]): (values: readonly unknown[]) => Record<string, unknown> {
  return (values) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i++) out[fields[i]!] = values[i];
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
