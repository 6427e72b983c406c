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

/** The whole fleet as columns, read with `client` (inside inSnapshot). */
export async function loadFleetColumns(client: pg.PoolClient): Promise<FleetColumns> {
  const modules = await loadModules(client);
  const kernels = await loadKernels(client);
  // Rows as arrays: no object per host.
  const { rows } = await client.query<
    [number, number, number | null, number, number, number, number, boolean, number | null, number, number, number, number, number, number]
  >({
    text: `SELECT id, platform_id, module_id, kernel_id, present_cpus, guest_key_ids, allocation_ratio, kvm_intel_tdx, memory_mib,
                  reserved_memory_mib, td_count, allocated_vcpus, known_memory_td_count, known_memory_td_vcpus, known_memory_td_mib
           FROM host ORDER BY id`,
    rowMode: 'array',
  });
  const n = rows.length;
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
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    hosts.id[i] = r[0];
    hosts.platformId[i] = r[1];
    hosts.moduleId[i] = r[2] ?? -1;
    hosts.kernelId[i] = r[3];
    hosts.presentCpus[i] = r[4];
    hosts.guestKeyIds[i] = r[5];
    hosts.allocationRatio[i] = r[6];
    hosts.kvmIntelTdx[i] = r[7] ? 1 : 0;
    hosts.memoryMiB[i] = r[8] ?? NaN;
    hosts.reservedMemoryMiB[i] = r[9];
    hosts.tdCount[i] = r[10];
    hosts.allocatedVcpus[i] = r[11];
    hosts.knownMemoryTdCount[i] = r[12];
    hosts.knownMemoryTdVcpus[i] = r[13];
    hosts.knownMemoryTdMiB[i] = r[14];
  }
  return { modules, kernels, hosts };
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
