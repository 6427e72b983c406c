// The whole fleet as rule facts, loaded in a few set-based queries: what the negotiation
// answers (module floor, what-if) evaluate with the pure rules of src/capacity/rules.ts.
import type { HostFacts, HostUsage, KernelFacts, ModuleFacts, ModuleMetadataPolicy, TdxInitFailure, TdxVcpuPolicy } from '../capacity/rules.js';
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

export async function loadFleetFacts(db: Database): Promise<FleetFacts> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
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
    await client.query('COMMIT');
    return {
      modules: new Map(
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
      ),
      kernels: new Map(
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
      ),
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
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
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
