// Export of the whole inventory as a document: the format import reads, in normalised order
// (natural keys in code-point order, every default explicit), so export(import(doc)) equals
// normalizeInventoryDocument(doc). Set-based SQL for the same reason as import: fleet scale.
import type { Database } from '../db/client.js';
import { migrationVersionsOf } from '../planning/host-facts.js';
import type { InventoryDocument, KernelDoc, ModuleDoc } from './document.js';

export async function exportInventory(db: Database): Promise<InventoryDocument> {
  const client = await db.pool.connect();
  try {
    // One snapshot for all five reads.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const platforms = await client.query<{ name: string; sockets: number; coresPerSocket: number; threadsPerCore: number }>(
      `SELECT name, sockets, cores_per_socket AS "coresPerSocket", threads_per_core AS "threadsPerCore"
       FROM platform ORDER BY name COLLATE "C"`,
    );
    const modules = await client.query<{
      version: string;
      maxVcpusPerTd: number | null;
      features: string[];
      platforms: string[];
      minExportVersion: number | null;
      maxExportVersion: number | null;
      minImportVersion: number | null;
      maxImportVersion: number | null;
      tdcsPages: number;
      tdvpsPages: number;
    }>(
      `SELECT m.version, m.max_vcpus_per_td AS "maxVcpusPerTd",
              ARRAY(SELECT f::text FROM unnest(m.features) f ORDER BY f::text COLLATE "C") AS features,
              ARRAY(SELECT p.name FROM module_platform mp JOIN platform p ON p.id = mp.platform_id
                    WHERE mp.module_id = m.id ORDER BY p.name COLLATE "C") AS platforms,
              m.min_export_version AS "minExportVersion", m.max_export_version AS "maxExportVersion",
              m.min_import_version AS "minImportVersion", m.max_import_version AS "maxImportVersion",
              m.tdcs_pages AS "tdcsPages", m.tdvps_pages AS "tdvpsPages"
       FROM tdx_module m ORDER BY m.version COLLATE "C"`,
    );
    const kernels = await client.query<KernelDoc>(
      `SELECT name, kvm_max_vcpus AS "kvmMaxVcpus", tdx_vcpu_policy::text AS "tdxVcpuPolicy", tdx_init_failure::text AS "tdxInitFailure",
              module_metadata::text AS "moduleMetadata"
       FROM kernel ORDER BY name COLLATE "C"`,
    );
    const hosts = await client.query<InventoryDocument['hosts'][number]>(
      `SELECT h.hostname, p.name AS platform, m.version AS module, k.name AS kernel, h.present_cpus AS "presentCpus",
              h.guest_key_ids AS "guestKeyIds", h.allocation_ratio AS "allocationRatio", h.kvm_intel_tdx AS "kvmIntelTdx",
              h.memory_mib AS "memoryMiB", h.reserved_memory_mib AS "reservedMemoryMiB"
       FROM host h JOIN platform p ON p.id = h.platform_id JOIN kernel k ON k.id = h.kernel_id
       LEFT JOIN tdx_module m ON m.id = h.module_id
       ORDER BY h.hostname COLLATE "C"`,
    );
    const tds = await client.query<InventoryDocument['tds'][number]>(
      `SELECT t.name, t.vcpus, h.hostname AS host, t.migratable, t.memory_mib AS "memoryMiB"
       FROM td t LEFT JOIN host h ON h.id = t.host_id ORDER BY t.name COLLATE "C"`,
    );
    await client.query('COMMIT');
    return {
      platforms: platforms.rows,
      modules: modules.rows.map((m): ModuleDoc => {
        const migration = migrationVersionsOf(m);
        return {
          version: m.version,
          maxVcpusPerTd: m.maxVcpusPerTd,
          features: m.features as ModuleDoc['features'],
          platforms: m.platforms,
          ...(migration ? { migration } : {}),
          tdcsPages: m.tdcsPages,
          tdvpsPages: m.tdvpsPages,
        };
      }),
      kernels: kernels.rows,
      hosts: hosts.rows,
      tds: tds.rows,
    };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
