// With DATABASE_URL, tests run on that PostgreSQL: migrations are applied once to a template
// database, and every test file clones it (CREATE DATABASE ... TEMPLATE), so files never share
// data. Without it, every test file starts its own embedded PGlite (test/support/database.ts).
import pg from 'pg';
import { applyMigrations } from '../../src/db/migrate.js';
import { adminUrl, databaseUrlFor, templateDatabase } from './names.js';

async function onAdmin(base: string, ...statements: string[]): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl(base) });
  await admin.connect();
  try {
    for (const sql of statements) await admin.query(sql);
  } finally {
    await admin.end();
  }
}

export async function setup(): Promise<void> {
  const base = process.env.DATABASE_URL;
  if (!base) return;
  const template = templateDatabase(base);
  await onAdmin(base, `DROP DATABASE IF EXISTS ${template} WITH (FORCE)`, `CREATE DATABASE ${template}`);
  await applyMigrations(databaseUrlFor(base, template));
}

/** The template goes with the run (each run makes its own): CI's databases left one per run behind. */
export async function teardown(): Promise<void> {
  const base = process.env.DATABASE_URL;
  if (base) await onAdmin(base, `DROP DATABASE IF EXISTS ${templateDatabase(base)} WITH (FORCE)`);
}
