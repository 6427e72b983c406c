// The embedded default: PGlite (PostgreSQL compiled to wasm) served over the Postgres wire
// protocol on loopback, so the server, the migration runner and the tests use the one `pg`
// code path whether the database is embedded or a real PostgreSQL.
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedDatabase {
  /** postgresql:// URL of the socket server, for `pg` and the schema engine. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts PGlite on `dataDir` (created if missing; data survives restarts) or in memory when
 * `dataDir` is undefined, and serves it on 127.0.0.1 at a free port.
 */
export async function startEmbeddedDatabase(dataDir?: string): Promise<EmbeddedDatabase> {
  if (dataDir) await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir ? { dataDir } : {});
  // PGlite is single-session; the socket server queues queries and keeps a transaction on the
  // connection that opened it, so a small pool on the client side is safe.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
  await server.start();
  const [, port] = server.getServerConn().split(':');
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
