// The migration tooling: the committed migrations bring a database to exactly prisma/schema.prisma.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startEmbeddedDatabase } from '../src/db/embedded.js';
import { migrationsDir, pendingMigrationSql } from '../src/db/migrate.js';
import { createTestDatabase } from './support/database.js';

describe('migrations', () => {
  it("writes no new migration: the newest migration's datamodel is prisma/schema.prisma", async () => {
    // A diff from the newest migration's snapshot to the schema is empty; a schema change
    // without its migration would need one (and fail this test, showing its SQL).
    expect(await pendingMigrationSql()).toBeNull();
  });

  it('applies every migration to a fresh database, recorded in _prisma_migrations', async () => {
    const db = await createTestDatabase();
    try {
      const { rows } = await db.pool.query<{ migration_name: string }>(
        'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name',
      );
      const directories = (await readdir(migrationsDir, { withFileTypes: true }))
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
      expect(directories.length).toBeGreaterThan(0);
      expect(rows.map((r) => r.migration_name)).toEqual(directories);
      // the CHECK constraints of the init migration hold
      await expect(db.pool.query("INSERT INTO platform (name, sockets, cores_per_socket, threads_per_core) VALUES ('bad', 0, 1, 1)")).rejects.toThrow(
        /platform_sockets_positive/,
      );
    } finally {
      await db.destroy();
    }
  });
});

describe('domain revision 2 migration (shared/domain.md, v2)', () => {
  it('R1 v2: kernels already in the database become DISABLE_TDX and LENIENT, so their answers do not change; new kernels get the mainline defaults', async () => {
    // An embedded database taken up to the migration before revision 2, with a fleet in it.
    const embedded = await startEmbeddedDatabase();
    const client = new pg.Client({ connectionString: embedded.url });
    await client.connect();
    try {
      const directories = (await readdir(migrationsDir, { withFileTypes: true }))
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
      const revision2 = directories.findIndex((name) => name.endsWith('_domain_revision_2'));
      // Migrations after revision 2 (host observations, scenarios) are not needed to upgrade through it.
      expect(revision2).toBeGreaterThan(0);
      const sqlOf = (name: string) => readFile(path.join(migrationsDir, name, 'migration.sql'), 'utf8');
      for (const name of directories.slice(0, revision2)) await client.query(await sqlOf(name));
      await client.query(`
        INSERT INTO platform (name, sockets, cores_per_socket, threads_per_core) VALUES ('GNR-SP-4S', 4, 86, 2);
        INSERT INTO tdx_module (version, max_vcpus_per_td, features) VALUES ('1.5.10', 576, '{TOPOLOGY_ENUM}'), ('1.5.01', NULL, '{TOPOLOGY_ENUM}');
        INSERT INTO module_platform (module_id, platform_id) SELECT m.id, p.id FROM tdx_module m, platform p;
        INSERT INTO kernel (name, kvm_max_vcpus, tdx_vcpu_policy) VALUES ('linux-6.16', 4096, 'PRESENT_CPUS');
        INSERT INTO host (hostname, platform_id, module_id, kernel_id, present_cpus, guest_key_ids)
          SELECT 'big', p.id, m.id, k.id, 688, 64 FROM platform p, tdx_module m, kernel k WHERE m.version = '1.5.10';
        INSERT INTO host (hostname, platform_id, module_id, kernel_id, present_cpus, guest_key_ids)
          SELECT 'old', p.id, m.id, k.id, 256, 64 FROM platform p, tdx_module m, kernel k WHERE m.version = '1.5.01';
        INSERT INTO td (name, vcpus, host_id) SELECT 'td-1', 8, id FROM host WHERE hostname = 'old';`);
      const statusBefore = await client.query(
        'SELECT h.hostname, s.tdx_enabled, s.tdx_disabled_reasons FROM host_tdx_status s JOIN host h ON h.id = s.host_id ORDER BY 1',
      );

      await client.query(await sqlOf(directories[revision2]!));

      const kernels = await client.query('SELECT name, tdx_init_failure::text, module_metadata::text FROM kernel');
      expect(kernels.rows).toEqual([{ name: 'linux-6.16', tdx_init_failure: 'DISABLE_TDX', module_metadata: 'LENIENT' }]);
      // The same TDX answers as before the upgrade (a module without NO_RBP_MOD or MAX_VCPUS_PER_TD
      // would take KVM down on a mainline kernel), and KVM loads everywhere.
      const statusAfter = await client.query(
        'SELECT h.hostname, s.tdx_enabled, s.tdx_disabled_reasons, s.kvm_loads FROM host_tdx_status s JOIN host h ON h.id = s.host_id ORDER BY 1',
      );
      expect(statusAfter.rows).toEqual(statusBefore.rows.map((r: Record<string, unknown>) => ({ ...r, kvm_loads: true })));
      // The trigger-kept usage starts right: the TD already placed has unknown memory.
      const usage = await client.query('SELECT hostname, td_count, known_memory_td_count, memory_mib, kvm_intel_tdx FROM host ORDER BY 1');
      expect(usage.rows).toEqual([
        { hostname: 'big', td_count: 0, known_memory_td_count: 0, memory_mib: null, kvm_intel_tdx: true },
        { hostname: 'old', td_count: 1, known_memory_td_count: 0, memory_mib: null, kvm_intel_tdx: true },
      ]);

      await client.query("INSERT INTO kernel (name, kvm_max_vcpus, tdx_vcpu_policy) VALUES ('linux-6.18', 4096, 'PRESENT_CPUS')");
      const added = await client.query("SELECT tdx_init_failure::text, module_metadata::text FROM kernel WHERE name = 'linux-6.18'");
      expect(added.rows).toEqual([{ tdx_init_failure: 'FAIL_KVM_LOAD', module_metadata: 'STRICT' }]);
      // On it, the same hosts would not load KVM: 576 < 688, and the old module lacks the metadata and NO_RBP_MOD.
      await client.query("UPDATE host SET kernel_id = (SELECT id FROM kernel WHERE name = 'linux-6.18')");
      const mainline = await client.query(
        'SELECT h.hostname, s.tdx_disabled_reasons, s.kvm_loads FROM host_tdx_status s JOIN host h ON h.id = s.host_id ORDER BY 1',
      );
      expect(mainline.rows).toEqual([
        { hostname: 'big', tdx_disabled_reasons: ['NO_RBP_MOD', 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS'], kvm_loads: false },
        { hostname: 'old', tdx_disabled_reasons: ['NO_RBP_MOD', 'NO_MAX_VCPUS_METADATA'], kvm_loads: false },
      ]);
    } finally {
      await client.end();
      await embedded.stop();
    }
    // Eight migrations on an embedded database.
  }, 120_000);
});
