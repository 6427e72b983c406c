// Read replicas on a real streaming replica: a primary cluster of our own and a replica made
// from it with pg_basebackup (test/support/pg-cluster.ts), both removed afterwards. Routing is
// observed from outside: replay on the replica is paused, so a read that sees an older state
// than the primary's was served by the replica.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLsn, parseLsn, ReplicaSet } from '../../src/db/replicas.js';
import { MIN_LSN_HEADER, WRITE_LSN_HEADER } from '../../src/db/routing-plugin.js';
import { demoFleet } from '../../src/inventory/demo-fleet.js';
import { importDocument } from '../support/import.js';
import { createTdplanYoga, listen, type RunningServer, type TdplanYoga } from '../../src/server.js';
import { postgresBinDir, removeCluster, startReplicatedTdplan, type Cluster } from '../support/pg-cluster.js';
import { tokenFor } from '../support/server.js';
import type { TestDatabase } from '../support/database.js';

// Long enough that a few requests on a loaded machine finish well inside it.
const MAX_LAG_MS = 8_000;

let primary: Cluster;
let replica: Cluster;
let db: TestDatabase;
let replicas: ReplicaSet;
let yoga: TdplanYoga;
let running: RunningServer;
let adminToken: string;
let viewerToken: string;

async function onReplica(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: replica.url('tdplan') });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function gql<T>(
  token: string,
  query: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; data?: T; errors?: { message: string }[]; headers: Headers }> {
  const response = await fetch(running.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
  return { status: response.status, ...body, headers: response.headers };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const kernelQuery = (name: string): string => `{ kernel(name: "${name}") { name } }`;
const createKernel = (name: string): string =>
  `mutation { createKernel(input: { name: "${name}", kvmMaxVcpus: 4096, tdxVcpuPolicy: PRESENT_CPUS }) { __typename } }`;
async function readyz(): Promise<{ status: string; replicas: { state: string; lagMs: number | null; reason?: string }[] }> {
  return (await fetch(running.url.replace('/graphql', '/readyz'))).json() as never;
}

const binaries = postgresBinDir();

describe.skipIf(binaries === null)('read replicas (a real streaming replica)', () => {
  beforeAll(async () => {
    ({ primary, replica, db } = await startReplicatedTdplan());
    expect(await importDocument(db, demoFleet(), 'REPLACE')).toMatchObject({ ok: true });
    adminToken = await tokenFor(db, 'ADMIN');
    viewerToken = await tokenFor(db, 'VIEWER');
    replicas = new ReplicaSet(db, [replica.url('tdplan')], { maxLagMs: MAX_LAG_MS, pollMs: 50 });
    db.replicas = replicas;
    await replicas.start();
    yoga = createTdplanYoga(db);
    running = await listen(yoga, '127.0.0.1', 0);
    await until('the replica streams and has the tokens', async () => {
      const ready = await readyz();
      return ready.replicas[0]?.state === 'streaming' && (await gql(viewerToken, '{ me { name } }')).status === 200;
    });
  }, 120_000);

  afterAll(async () => {
    await running?.close();
    await replicas?.close();
    await db?.close();
    if (replica) await removeCluster(replica);
    if (primary) await removeCluster(primary);
  }, 60_000);

  it('WAL positions parse and print as PostgreSQL writes them', () => {
    expect(formatLsn(parseLsn('0/3016060'))).toBe('0/3016060');
    expect(parseLsn('1/0') > parseLsn('0/FFFFFFFF')).toBe(true);
    expect(() => parseLsn('3016060')).toThrow(/WAL position/);
  });

  it('queries go to the replica, writes to the primary, and the writer reads its own write', async () => {
    await onReplica('SELECT pg_wal_replay_pause()');
    try {
      // The write succeeds: it went to the primary (the replica refuses writes).
      const written = await gql<{ createKernel: { __typename: string } }>(adminToken, createKernel('linux-rw-1'));
      expect(written.data?.createKernel.__typename).toBe('MutationCreateKernelSuccess');
      const lsn = written.headers.get(WRITE_LSN_HEADER);
      expect(lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      // The writer sees it at once (its reads go to the primary until a replica has replayed it).
      expect((await gql<{ kernel: { name: string } | null }>(adminToken, kernelQuery('linux-rw-1'))).data?.kernel).toEqual({ name: 'linux-rw-1' });
      // Another client reads the replica, which has not replayed it: this proves reads go there.
      expect((await gql<{ kernel: unknown }>(viewerToken, kernelQuery('linux-rw-1'))).data?.kernel).toBeNull();
      // ...unless it brings the writer's position (a client of several tdplan instances).
      expect((await gql<{ kernel: unknown }>(viewerToken, kernelQuery('linux-rw-1'), { [MIN_LSN_HEADER]: lsn! })).data?.kernel).toEqual({
        name: 'linux-rw-1',
      });
      const bad = await gql(viewerToken, kernelQuery('linux-rw-1'), { [MIN_LSN_HEADER]: 'yesterday' });
      expect(bad.status).toBe(400);
      expect(bad.errors?.[0]?.message).toMatch(MIN_LSN_HEADER);
    } finally {
      await onReplica('SELECT pg_wal_replay_resume()');
    }
    await until('the replica replays the write', async () => (await gql<{ kernel: unknown }>(viewerToken, kernelQuery('linux-rw-1'))).data?.kernel != null);
  });

  it('a mutation reads its own result inside its transaction on the primary', async () => {
    await onReplica('SELECT pg_wal_replay_pause()');
    try {
      const res = await gql<{ placeTd: { __typename: string; data?: { host: { hostname: string; tds: { totalCount: number } } } } }>(
        adminToken,
        `mutation { placeTd(td: { name: "td-planned-01" }, host: { hostname: "spr-a01" }) {
           __typename ... on MutationPlaceTdSuccess { data { host { hostname tds(first: 50) { totalCount } } } } } }`,
      );
      expect(res.data?.placeTd.__typename).toBe('MutationPlaceTdSuccess');
      const before = await db.prisma.td.count({ where: { host: { hostname: 'spr-a01' } } });
      expect(res.data?.placeTd.data?.host.tds.totalCount).toBe(before);
    } finally {
      await onReplica('SELECT pg_wal_replay_resume()');
    }
  });

  it('a replica further behind than the bound is skipped, and /readyz says so', async () => {
    await onReplica('SELECT pg_wal_replay_pause()');
    try {
      // Written behind tdplan's back: no session knows of it, so only the lag bound protects readers.
      await db.prisma.kernel.create({ data: { name: 'linux-lag-1', kvmMaxVcpus: 4096, tdxVcpuPolicy: 'PRESENT_CPUS' } });
      expect((await gql<{ kernel: unknown }>(viewerToken, kernelQuery('linux-lag-1'))).data?.kernel).toBeNull();
      await until('the replica is reported lagging', async () => (await readyz()).replicas[0]?.state === 'lagging', MAX_LAG_MS + 10_000);
      const ready = await readyz();
      expect(ready.status).toBe('ready');
      expect(ready.replicas[0]!.lagMs).toBeGreaterThan(MAX_LAG_MS);
      expect((await gql<{ kernel: unknown }>(viewerToken, kernelQuery('linux-lag-1'))).data?.kernel).toEqual({ name: 'linux-lag-1' });
    } finally {
      await onReplica('SELECT pg_wal_replay_resume()');
    }
    await until('the replica streams again', async () => (await readyz()).replicas[0]?.state === 'streaming');
  });

  it('a replica that goes away is skipped: reads keep working on the primary, /readyz says which is down', async () => {
    const hostsQuery = '{ hosts(first: 5) { totalCount } }';
    const expected = await db.prisma.host.count();
    await replica.stop();
    // Requests made while it goes away may fail; once the poll notices (50 ms), none does.
    await until('the replica is reported down', async () => (await readyz()).replicas[0]?.state === 'down');
    const ready = await readyz();
    expect(ready.status).toBe('ready');
    expect(ready.replicas[0]!.reason).toBeTruthy();
    const answers = await Promise.all(Array.from({ length: 20 }, () => gql<{ hosts: { totalCount: number } }>(viewerToken, hostsQuery)));
    for (const a of answers) expect(a.data?.hosts.totalCount).toBe(expected);
    // And it is used again when it comes back.
    await replica.start();
    await until('the replica streams again', async () => (await readyz()).replicas[0]?.state === 'streaming', 30_000);
  });
});
