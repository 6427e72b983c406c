export const TEMPLATE_DATABASE = 'tdplan_test_template';

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
