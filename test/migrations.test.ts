// The migration tooling: the committed migrations bring a database to exactly prisma/schema.prisma.
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
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
