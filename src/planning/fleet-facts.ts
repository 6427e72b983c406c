// The whole fleet as rule facts, loaded in a few set-based queries: what the negotiation
// answers (module floor, what-if) evaluate with the pure rules of src/capacity/rules.ts.
import type { HostFacts, HostUsage, KernelFacts, ModuleFacts } from '../capacity/rules.js';
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
      } & MigrationVersionColumns
    >(
      `SELECT m.id, m.version, m.max_vcpus_per_td, m.features::text[] AS features,
              ARRAY(SELECT platform_id FROM module_platform mp WHERE mp.module_id = m.id) AS platform_ids,
              m.min_export_version AS "minExportVersion", m.max_export_version AS "maxExportVersion",
              m.min_import_version AS "minImportVersion", m.max_import_version AS "maxImportVersion"
       FROM tdx_module m`,
    );
    const kernels = await client.query<{ id: number; name: string; kvm_max_vcpus: number; tdx_vcpu_policy: 'PRESENT_CPUS' | 'MODULE_LIMIT' }>(
      'SELECT id, name, kvm_max_vcpus, tdx_vcpu_policy::text AS tdx_vcpu_policy FROM kernel',
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
      td_count: number;
      allocated_vcpus: number;
    }>(
      `SELECT h.id, h.hostname, h.platform_id, h.module_id, h.kernel_id, h.present_cpus, h.guest_key_ids, h.allocation_ratio,
              h.td_count, h.allocated_vcpus
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
            migration: migrationVersionsOf(m),
          },
        ]),
      ),
      kernels: new Map(kernels.rows.map((k) => [k.id, { id: k.id, name: k.name, kvmMaxVcpus: k.kvm_max_vcpus, tdxVcpuPolicy: k.tdx_vcpu_policy }])),
      hosts: hosts.rows.map((h) => ({
        id: h.id,
        hostname: h.hostname,
        platformId: h.platform_id,
        moduleId: h.module_id,
        kernelId: h.kernel_id,
        presentCpus: h.present_cpus,
        guestKeyIds: h.guest_key_ids,
        allocationRatio: h.allocation_ratio,
        usage: { tdCount: h.td_count, allocatedVcpus: h.allocated_vcpus },
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
    module,
    moduleSupportsPlatform: module?.platformIds.has(host.platformId) ?? false,
    kernel: fleet.kernels.get(host.kernelId)!,
  };
}
