// The whole fleet as rule facts, loaded in a few set-based queries: what the negotiation
// answers (module floor, what-if) evaluate with the pure rules of src/capacity/rules.ts.
import type { HostFacts, HostUsage, KernelFacts, ModuleFacts, ModuleMetadataPolicy, TdxInitFailure, TdxVcpuPolicy } from '../capacity/rules.js';
import type pg from 'pg';
import type { Database } from '../db/client.js';
import { migrationVersionsOf, type MigrationVersionColumns } from './host-facts.js';

export interface ModuleRecord extends ModuleFacts {
  id: number;
  version: string;
  platformIds: Set<number>;
}

export interface KernelRecord extends KernelFacts {
  id: number;
  name: string;
}

export interface HostRecord {
  id: number;
  hostname: string;
  platformId: number;
  moduleId: number | null;
  kernelId: number;
  presentCpus: number;
  guestKeyIds: number;
  allocationRatio: number;
  kvmIntelTdx: boolean;
  memoryMiB: number | null;
  reservedMemoryMiB: number;
  usage: HostUsage;
}

export interface FleetFacts {
  modules: Map<number, ModuleRecord>;
  kernels: Map<number, KernelRecord>;
  hosts: HostRecord[];
}

/** Runs `read` on one connection in one REPEATABLE READ READ ONLY transaction: every query sees one snapshot. */
export async function inSnapshot<T>(db: Database, read: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const result = await read(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

async function loadModules(client: pg.PoolClient): Promise<Map<number, ModuleRecord>> {
  const modules = await client.query<
    {
      id: number;
      version: string;
      max_vcpus_per_td: number | null;
      features: string[];
      platform_ids: number[];
      tdcs_pages: number;
      tdvps_pages: number;
    } & MigrationVersionColumns
  >(
    `SELECT m.id, m.version, m.max_vcpus_per_td, m.features::text[] AS features, m.tdcs_pages, m.tdvps_pages,
            ARRAY(SELECT platform_id FROM module_platform mp WHERE mp.module_id = m.id) AS platform_ids,
            m.min_export_version AS "minExportVersion", m.max_export_version AS "maxExportVersion",
            m.min_import_version AS "minImportVersion", m.max_import_version AS "maxImportVersion"
     FROM tdx_module m`,
  );
  return new Map(
    modules.rows.map((m) => [
      m.id,
      {
        id: m.id,
        version: m.version,
        maxVcpusPerTd: m.max_vcpus_per_td,
        features: m.features,
        platformIds: new Set(m.platform_ids),
        tdcsPages: m.tdcs_pages,
        tdvpsPages: m.tdvps_pages,
        migration: migrationVersionsOf(m),
      },
    ]),
  );
}

async function loadKernels(client: pg.PoolClient): Promise<Map<number, KernelRecord>> {
  const kernels = await client.query<{
    id: number;
    name: string;
    kvm_max_vcpus: number;
    tdx_vcpu_policy: TdxVcpuPolicy;
    tdx_init_failure: TdxInitFailure;
    module_metadata: ModuleMetadataPolicy;
  }>(
    `SELECT id, name, kvm_max_vcpus, tdx_vcpu_policy::text AS tdx_vcpu_policy, tdx_init_failure::text AS tdx_init_failure,
            module_metadata::text AS module_metadata
     FROM kernel`,
  );
  return new Map(
    kernels.rows.map((k) => [
      k.id,
      {
        id: k.id,
        name: k.name,
        kvmMaxVcpus: k.kvm_max_vcpus,
        tdxVcpuPolicy: k.tdx_vcpu_policy,
        tdxInitFailure: k.tdx_init_failure,
        moduleMetadata: k.module_metadata,
      },
    ]),
  );
}

export async function loadFleetFacts(db: Database): Promise<FleetFacts> {
  return inSnapshot(db, async (client) => {
    const modules = await loadModules(client);
    const kernels = await loadKernels(client);
    const hosts = await client.query<{
      id: number;
      hostname: string;
      platform_id: number;
      module_id: number | null;
      kernel_id: number;
      present_cpus: number;
      guest_key_ids: number;
      allocation_ratio: number;
      kvm_intel_tdx: boolean;
      memory_mib: number | null;
      reserved_memory_mib: number;
      td_count: number;
      allocated_vcpus: number;
      known_memory_td_count: number;
      known_memory_td_vcpus: number;
      known_memory_td_mib: number;
    }>(
      `SELECT h.id, h.hostname, h.platform_id, h.module_id, h.kernel_id, h.present_cpus, h.guest_key_ids, h.allocation_ratio,
              h.kvm_intel_tdx, h.memory_mib, h.reserved_memory_mib,
              h.td_count, h.allocated_vcpus, h.known_memory_td_count, h.known_memory_td_vcpus, h.known_memory_td_mib
       FROM host h ORDER BY h.id`,
    );
    return {
      modules,
      kernels,
      hosts: hosts.rows.map((h) => ({
        id: h.id,
        hostname: h.hostname,
        platformId: h.platform_id,
        moduleId: h.module_id,
        kernelId: h.kernel_id,
        presentCpus: h.present_cpus,
        guestKeyIds: h.guest_key_ids,
        allocationRatio: h.allocation_ratio,
        kvmIntelTdx: h.kvm_intel_tdx,
        memoryMiB: h.memory_mib,
        reservedMemoryMiB: h.reserved_memory_mib,
        usage: {
          tdCount: h.td_count,
          allocatedVcpus: h.allocated_vcpus,
          knownMemoryTdCount: h.known_memory_td_count,
          knownMemoryTdVcpus: h.known_memory_td_vcpus,
          knownMemoryTdMiB: h.known_memory_td_mib,
        },
      })),
    };
  });
}

/**
 * Every host's facts as columns, one typed array per fact (index i is the i-th host by id), without
 * hostnames: what-if's pass over the whole fleet, without an object per host. A missing module is
 * -1, an unknown memory NaN.
 */
export interface HostColumns {
  count: number;
  id: Int32Array;
  platformId: Int32Array;
  moduleId: Int32Array;
  kernelId: Int32Array;
  presentCpus: Int32Array;
  guestKeyIds: Int32Array;
  allocationRatio: Float64Array;
  kvmIntelTdx: Uint8Array;
  memoryMiB: Float64Array;
  reservedMemoryMiB: Int32Array;
  tdCount: Int32Array;
  allocatedVcpus: Int32Array;
  knownMemoryTdCount: Int32Array;
  knownMemoryTdVcpus: Int32Array;
  knownMemoryTdMiB: Int32Array;
}

export interface FleetColumns {
  modules: Map<number, ModuleRecord>;
  kernels: Map<number, KernelRecord>;
  hosts: HostColumns;
}

/** The columns of HOST_LINES, in order. */
const HOST_LINE_COLUMNS = 15;

/**
 * Every host as one line of comma-separated numbers, the lines joined by ';' in id order: one text
 * value for the whole fleet. NULLs are spelled -1 (module ids and memory are positive).
 */
const HOST_LINES = `SELECT string_agg(concat_ws(',', id, platform_id, coalesce(module_id, -1), kernel_id, present_cpus, guest_key_ids,
    allocation_ratio, kvm_intel_tdx::int, coalesce(memory_mib, -1), reserved_memory_mib, td_count, allocated_vcpus,
    known_memory_td_count, known_memory_td_vcpus, known_memory_td_mib), ';' ORDER BY id) AS lines
  FROM host`;

/**
 * The whole fleet as columns, read with `client` (inside inSnapshot). The hosts come as one text
 * (HOST_LINES) scanned here digit by digit: a row per host cost node-postgres a string and a parse
 * per field, about 350 ms of CPU per 100,000 hosts, this about 50 (bench/README.md, "whatIf speed").
 */
export async function loadFleetColumns(client: pg.PoolClient): Promise<FleetColumns> {
  const modules = await loadModules(client);
  const kernels = await loadKernels(client);
  const text = (await client.query<{ lines: string | null }>(HOST_LINES)).rows[0]?.lines ?? '';
  return { modules, kernels, hosts: hostColumnsOf(text) };
}

/**
 * HOST_LINES' text as columns, scanned digit by digit. The ratio (a float8's text) too where it is
 * plain digits with at most 15 of them: digits / 10^decimals is then exactly what Number() gives
 * (both are exact, and the division rounds correctly); Number() reads any other spelling.
 */
export function hostColumnsOf(text: string): HostColumns {
  let n = 0;
  if (text.length > 0) {
    n = 1;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 59) n++;
  }
  const hosts: HostColumns = {
    count: n,
    id: new Int32Array(n),
    platformId: new Int32Array(n),
    moduleId: new Int32Array(n),
    kernelId: new Int32Array(n),
    presentCpus: new Int32Array(n),
    guestKeyIds: new Int32Array(n),
    allocationRatio: new Float64Array(n),
    kvmIntelTdx: new Uint8Array(n),
    memoryMiB: new Float64Array(n),
    reservedMemoryMiB: new Int32Array(n),
    tdCount: new Int32Array(n),
    allocatedVcpus: new Int32Array(n),
    knownMemoryTdCount: new Int32Array(n),
    knownMemoryTdVcpus: new Int32Array(n),
    knownMemoryTdMiB: new Int32Array(n),
  };
  const line = new Float64Array(HOST_LINE_COLUMNS);
  let row = 0;
  let column = 0;
  let start = 0;
  let value = 0;
  let digits = 0;
  let decimals = -1; // -1: no decimal point
  let plain = true;
  let negative = false;
  for (let i = 0; i <= text.length && n > 0; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 59;
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48);
      digits++;
      if (decimals >= 0) decimals++;
    } else if (c === 45 && i === start) negative = true;
    else if (c === 46 && decimals < 0) decimals = 0;
    else if (c === 44 || c === 59) {
      if (column === 6) {
        // allocation_ratio
        const ratio = plain && digits <= 15 ? (decimals > 0 ? value / 10 ** decimals : value) : Number(text.slice(start, i));
        line[column] = negative && plain ? -ratio : ratio;
      } else if (plain && decimals < 0 && digits > 0 && column < HOST_LINE_COLUMNS) line[column] = negative ? -value : value;
      else throw new Error(`host line ${row}: not an integer in column ${column}: ${JSON.stringify(text.slice(start, i))}`);
      value = 0;
      digits = 0;
      decimals = -1;
      plain = true;
      negative = false;
      start = i + 1;
      column++;
      if (c === 59) {
        if (column !== HOST_LINE_COLUMNS) throw new Error(`host line ${row}: ${column} values, expected ${HOST_LINE_COLUMNS}`);
        hosts.id[row] = line[0]!;
        hosts.platformId[row] = line[1]!;
        hosts.moduleId[row] = line[2]!;
        hosts.kernelId[row] = line[3]!;
        hosts.presentCpus[row] = line[4]!;
        hosts.guestKeyIds[row] = line[5]!;
        hosts.allocationRatio[row] = line[6]!;
        hosts.kvmIntelTdx[row] = line[7]!;
        hosts.memoryMiB[row] = line[8] === -1 ? NaN : line[8]!;
        hosts.reservedMemoryMiB[row] = line[9]!;
        hosts.tdCount[row] = line[10]!;
        hosts.allocatedVcpus[row] = line[11]!;
        hosts.knownMemoryTdCount[row] = line[12]!;
        hosts.knownMemoryTdVcpus[row] = line[13]!;
        hosts.knownMemoryTdMiB[row] = line[14]!;
        row++;
        column = 0;
      }
    } else plain = false;
  }
  return hosts;
}

/** The rule facts of one host in a (possibly changed) fleet. */
export function factsOfHost(fleet: FleetFacts, host: HostRecord): HostFacts {
  const module = host.moduleId === null ? null : (fleet.modules.get(host.moduleId) ?? null);
  return {
    presentCpus: host.presentCpus,
    guestKeyIds: host.guestKeyIds,
    allocationRatio: host.allocationRatio,
    kvmIntelTdx: host.kvmIntelTdx,
    memoryMiB: host.memoryMiB,
    reservedMemoryMiB: host.reservedMemoryMiB,
    module,
    moduleSupportsPlatform: module?.platformIds.has(host.platformId) ?? false,
    kernel: fleet.kernels.get(host.kernelId)!,
  };
}
