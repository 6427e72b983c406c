// A fresh, migrated database for one test file: a clone of the migrated template on the
// PostgreSQL named by DATABASE_URL, or an in-memory embedded PGlite when there is none.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connectDatabase, EMBEDDED_POOL_SIZE, type Database } from '../../src/db/client.js';
import { startEmbeddedDatabase } from '../../src/db/embedded.js';
import { applyMigrations } from '../../src/db/migrate.js';
import { adminUrl, databaseUrlFor, templateDatabase } from './names.js';

export type DatabaseKind = 'postgres' | 'embedded';

export interface TestDatabase extends Database {
  kind: DatabaseKind;
  /** Drops (PostgreSQL) or stops (embedded) the database. */
  destroy(): Promise<void>;
}

export const databaseKind: DatabaseKind = process.env.DATABASE_URL ? 'postgres' : 'embedded';

async function adminQuery(base: string, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl(base) });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const base = process.env.DATABASE_URL;
  if (base) {
    const name = `tdplan_test_${randomBytes(6).toString('hex')}`;
    // PostgreSQL refuses to clone a template while another clone of it is in progress: retry.
    for (let attempt = 0; ; attempt++) {
      try {
        await adminQuery(base, `CREATE DATABASE ${name} TEMPLATE ${templateDatabase(base)}`);
        break;
      } catch (err) {
        if (attempt >= 50 || !/being accessed by other users/.test((err as Error).message)) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
      }
    }
    const db = connectDatabase(databaseUrlFor(base, name), { max: 20 });
    return {
      ...db,
      kind: 'postgres',
      async destroy() {
        await db.close();
        await adminQuery(base, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      },
    };
  }
  const embedded = await startEmbeddedDatabase();
  await applyMigrations(embedded.url);
  const db = connectDatabase(embedded.url, { max: EMBEDDED_POOL_SIZE, embedded: true });
  return {
    ...db,
    kind: 'embedded',
    async destroy() {
      await db.close();
      await embedded.stop();
    },
  };
}
