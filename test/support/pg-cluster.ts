// Throwaway PostgreSQL clusters for the replication tests: a primary of our own (the shared
// server on 5432 refuses replication connections, and reconfiguring it would disturb others)
// and streaming replicas made from it with pg_basebackup, each on a free port, removed after.
// PostgreSQL refuses to run as root, so when the tests run as root the binaries run as the
// `postgres` OS user through runuser.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { connectDatabase, type Database } from '../../src/db/client.js';
import { applyMigrations } from '../../src/db/migrate.js';
import type { TestDatabase } from './database.js';

const run = promisify(execFile);

/** The directory of initdb, pg_ctl and pg_basebackup (Debian keeps them off PATH), or null. */
export function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'pg_basebackup')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : null;
}

const asRoot = userInfo().uid === 0;

async function pgRun(bin: string, args: string[]): Promise<string> {
  const binDir = postgresBinDir();
  if (!binDir) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql');
  const command = path.join(binDir, bin);
  const { stdout } = asRoot ? await run('runuser', ['-u', 'postgres', '--', command, ...args]) : await run(command, args);
  return stdout;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Cluster {
  port: number;
  dataDir: string;
  /** postgresql:// URL of `database` on this cluster. */
  url(database?: string): string;
  start(): Promise<void>;
  /** Stops at once (fast shutdown), as a crashed or removed replica would go. */
  stop(): Promise<void>;
  running: boolean;
}

async function ownedTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  return dir;
}

function cluster(dataDir: string, port: number): Cluster {
  const self: Cluster = {
    port,
    dataDir,
    running: false,
    url: (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      // -k: the socket in the data directory (the default one belongs to the shared server).
      await pgRun('pg_ctl', ['-D', dataDir, '-w', '-t', '60', '-l', path.join(dataDir, 'server.log'), '-o', `-p ${port} -k ${dataDir}`, 'start']);
      self.running = true;
    },
    async stop() {
      if (!self.running) return;
      await pgRun('pg_ctl', ['-D', dataDir, '-w', '-m', 'fast', 'stop']);
      self.running = false;
    },
  };
  return self;
}

/** A new primary cluster that accepts replication from 127.0.0.1, started. */
export async function startPrimary(): Promise<Cluster> {
  const dir = await ownedTempDir('tdplan-primary-');
  const dataDir = path.join(dir, 'data');
  await pgRun('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  await appendFile(
    path.join(dataDir, 'postgresql.conf'),
    [
      "listen_addresses = '127.0.0.1'",
      'wal_level = replica',
      'max_wal_senders = 10',
      'max_connections = 60',
      'shared_buffers = 32MB',
      'fsync = off',
      // Replicas report their replay position at once, so read-your-writes waits are short.
      'wal_receiver_status_interval = 1s',
      '',
    ].join('\n'),
  );
  await appendFile(path.join(dataDir, 'pg_hba.conf'), 'host replication all 127.0.0.1/32 trust\n');
  const primary = cluster(dataDir, await freePort());
  await primary.start();
  return primary;
}

/** A streaming replica of `primary` (pg_basebackup -R), on its own port, started. */
export async function startReplica(primary: Cluster): Promise<Cluster> {
  const dir = await ownedTempDir('tdplan-replica-');
  const dataDir = path.join(dir, 'data');
  await pgRun('pg_basebackup', [
    '-h',
    '127.0.0.1',
    '-p',
    String(primary.port),
    '-U',
    'postgres',
    '-D',
    dataDir,
    '-R',
    '-X',
    'stream',
    '--checkpoint=fast',
    '--no-sync',
  ]);
  const replica = cluster(dataDir, await freePort());
  await replica.start();
  // Hot standby accepts connections once it reached a consistent state.
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({ connectionString: replica.url() });
    try {
      await client.connect();
      const { rows } = await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
      if (!rows[0]?.r) throw new Error('the copy is not in recovery: not a replica');
      return replica;
    } catch (err) {
      if (attempt > 100) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** Stops the cluster and deletes its files. */
export async function removeCluster(c: Cluster): Promise<void> {
  await c.stop().catch(() => undefined);
  await rm(path.dirname(c.dataDir), { recursive: true, force: true });
}

/**
 * A primary with tdplan's migrated database `tdplan`, a streaming replica of it (made after the
 * migrations, so it starts with the schema), and a connection to the primary's database.
 */
export async function startReplicatedTdplan(): Promise<{ primary: Cluster; replica: Cluster; db: TestDatabase }> {
  const primary = await startPrimary();
  const admin = new pg.Client({ connectionString: primary.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE tdplan');
  await admin.end();
  await applyMigrations(primary.url('tdplan'));
  const replica = await startReplica(primary);
  const base: Database = connectDatabase(primary.url('tdplan'));
  return { primary, replica, db: { ...base, kind: 'postgres', destroy: () => base.close() } };
}
