/**
 * The migrated template every test file clones. Named after the database of DATABASE_URL, so test
 * runs against different databases (CI, several checkouts on one server) never share a template.
 */
export function templateDatabase(base: string): string {
  const name = new URL(base).pathname.replace(/^\//, '').replace(/[^a-z0-9_]/gi, '_') || 'postgres';
  return `tdplan_tpl_${name}`.slice(0, 63);
}

/** The same server, with database `name`. */
export function databaseUrlFor(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Where to run CREATE/DROP DATABASE: the server's `postgres` database. */
export function adminUrl(base: string): string {
  return databaseUrlFor(base, 'postgres');
}
