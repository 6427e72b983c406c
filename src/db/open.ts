// Which database a tdplan process uses: DATABASE_URL if set, else the embedded PGlite in the
// data directory. Connection problems become one clear sentence (CliError), never a stack trace.
import { open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { CliError } from '../cli-error.js';
import { connectDatabase, EMBEDDED_POOL_SIZE, type Database } from './client.js';
import { startEmbeddedDatabase } from './embedded.js';
import { applyMigrations } from './migrate.js';
import { redactUrl } from './redact.js';
import { ReplicaSet } from './replicas.js';

export { redactUrl };

export interface OpenedDatabase {
  db: Database;
  /** Where it is, for messages: a URL without password, or the embedded data directory. */
  description: string;
  embedded: boolean;
  /** Migrations applied by this open (empty when migrate was false or all were applied). */
  appliedMigrations: string[];
  /** The database had no migrations before this open: it was just created. */
  createdNow: boolean;
  close(): Promise<void>;
}

export interface OpenOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  migrate: boolean;
  /** How long a query may wait for a busy pool's connection (`serve`: the request deadline). */
  acquireTimeoutMs?: number;
  /** statement_timeout on PostgreSQL (`serve` sets one; the embedded PGlite has no timer for it). */
  statementTimeoutMs?: number;
  /** Streaming replicas of DATABASE_URL for reads (DATABASE_REPLICA_URLS); none by default. */
  replicaUrls?: readonly string[];
  /** A replica further behind than this is skipped (DATABASE_REPLICA_MAX_LAG_MS; default 5 s). */
  replicaMaxLagMs?: number | undefined;
  /** Named statements on every connection (DATABASE_PREPARED_STATEMENTS; default on). */
  preparedStatements?: boolean | undefined;
}

function describeConnectionError(err: unknown, where: string): CliError {
  const e = err as { code?: string; message?: string };
  const reason = e.code === 'ECONNREFUSED' ? 'connection refused' : e.code === 'ENOTFOUND' ? 'host not found' : (e.message ?? String(err));
  return new CliError(`cannot reach the database at ${where}: ${reason}`);
}

// PGlite keeps one process per data directory; a second one would corrupt it.
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = path.join(dataDir, 'tdplan.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(lockPath, { force: true });
    } catch (err) {
      if ((err as { code?: string }).code !== 'EEXIST') throw err;
      const pid = Number(await readFile(lockPath, 'utf8').catch(() => ''));
      let alive = false;
      try {
        alive = pid > 0 && process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (alive) {
        throw new CliError(`the embedded database in ${dataDir} is in use by process ${pid}; stop it first, or set DATABASE_URL`);
      }
      await rm(lockPath, { force: true }); // left by a process that died
    }
  }
  throw new CliError(`cannot lock the embedded database in ${dataDir}`);
}

export async function openDatabase(options: OpenOptions): Promise<OpenedDatabase> {
  const { databaseUrl } = options;
  const replicaUrls = options.replicaUrls ?? [];
  if (replicaUrls.length > 0 && !databaseUrl) {
    throw new CliError('DATABASE_REPLICA_URLS needs DATABASE_URL: replicas are of a PostgreSQL primary, not of the embedded database');
  }
  for (const replicaUrl of replicaUrls) {
    try {
      new URL(replicaUrl);
    } catch {
      throw new CliError(`DATABASE_REPLICA_URLS: not a valid URL: ${redactUrl(replicaUrl)}`);
    }
  }
  let url: string;
  let description: string;
  let stopEmbedded = async (): Promise<void> => undefined;
  if (databaseUrl) {
    try {
      new URL(databaseUrl);
    } catch {
      throw new CliError('DATABASE_URL is not a valid URL (expected postgresql://user@host:5432/database)');
    }
    url = databaseUrl;
    description = redactUrl(databaseUrl);
  } else {
    const dataDir = path.resolve(options.dataDir);
    const pgData = path.join(dataDir, 'pgdata');
    await import('node:fs/promises').then((fs) => fs.mkdir(dataDir, { recursive: true }));
    const unlock = await lockDataDir(dataDir);
    try {
      const embedded = await startEmbeddedDatabase(pgData);
      url = embedded.url;
      stopEmbedded = async () => {
        await embedded.stop();
        await unlock();
      };
    } catch (err) {
      await unlock();
      throw new CliError(`cannot start the embedded database in ${pgData}: ${(err as Error).message}`);
    }
    description = `embedded PGlite in ${pgData}`;
  }
  const db = connectDatabase(url, {
    ...(options.databaseUrl ? { statementTimeoutMs: options.statementTimeoutMs } : { max: EMBEDDED_POOL_SIZE, embedded: true }),
    acquireTimeoutMs: options.acquireTimeoutMs,
    preparedStatements: options.preparedStatements,
  });
  const closeAll = async (): Promise<void> => {
    await db.replicas?.close();
    await db.close();
    await stopEmbedded();
  };
  try {
    await db.pool.query('SELECT 1');
  } catch (err) {
    await closeAll();
    throw describeConnectionError(err, description);
  }
  let appliedMigrations: string[] = [];
  let createdNow = false;
  if (options.migrate) {
    const before = await db.pool
      .query<{ n: string }>('SELECT count(*) AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL')
      .then((r) => Number(r.rows[0]?.n ?? 0))
      .catch(() => 0);
    try {
      appliedMigrations = await applyMigrations(url);
    } catch (err) {
      await closeAll();
      throw new CliError(`migrations failed on ${description}: ${(err as Error).message.split('\n')[0]}`);
    }
    createdNow = before === 0 && appliedMigrations.length > 0;
  }
  if (replicaUrls.length > 0) {
    // A replica that is down now is not fatal: it is polled, and used once it streams.
    const replicas = new ReplicaSet(db, replicaUrls, {
      ...(options.replicaMaxLagMs === undefined ? {} : { maxLagMs: options.replicaMaxLagMs }),
      preparedStatements: options.preparedStatements,
    });
    await replicas.start();
    db.replicas = replicas;
  }
  return { db, description, embedded: !databaseUrl, appliedMigrations, createdNow, close: closeAll };
}
