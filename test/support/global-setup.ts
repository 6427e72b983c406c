// With DATABASE_URL, tests run on that PostgreSQL: migrations are applied once to a template
// database, and every test file clones it (CREATE DATABASE ... TEMPLATE), so files never share
// data. Without it, every test file starts its own embedded PGlite (test/support/database.ts).
import pg from 'pg';
import { applyMigrations } from '../../src/db/migrate.js';
import { adminUrl, databaseUrlFor, templateDatabase } from './names.js';

export async function setup(): Promise<void> {
  const base = process.env.DATABASE_URL;
  if (!base) return;
  const template = templateDatabase(base);
  const admin = new pg.Client({ connectionString: adminUrl(base) });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${template}`);
  } finally {
    await admin.end();
  }
  await applyMigrations(databaseUrlFor(base, template));
}
