// tdplan as N stateless instances: two `tdplan serve` processes (real ports) on one primary with
// a streaming replica for reads (a cluster pair of our own, test/support/pg-cluster.ts). Concurrent
// placements onto the same hosts through both never overfill a host (R5), and a token revoked
// through one instance, or by the CLI, is refused by the other at once (LISTEN/NOTIFY).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importDocument } from '../support/import.js';
import { freePort, postgresBinDir, removeCluster, startReplicatedTdplan, type Cluster } from '../support/pg-cluster.js';
import { tokenFor } from '../support/server.js';
import type { TestDatabase } from '../support/database.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/tdplan.js');
const run = promisify(execFile);

interface Instance {
  url: string;
  child: ChildProcess;
  output: string[];
}

let primary: Cluster;
let replica: Cluster;
let db: TestDatabase;
const instances: Instance[] = [];
let adminToken: string;

function env(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: primary.url('tdplan'),
    DATABASE_REPLICA_URLS: replica.url('tdplan'),
    LOG_LEVEL: 'warn',
    // The race below sends 60 placements at once with one token: per-token limits (hostile.test.ts
    // tests them) would refuse most of them before they could race.
    TDPLAN_TOKEN_MAX_CONCURRENT: '0',
    TDPLAN_TOKEN_MAX_RPS: '0',
  };
}

async function startInstance(): Promise<Instance> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port)], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`tdplan serve exited ${child.exitCode}: ${output.join('')}`);
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.json() as Promise<{ status: string; auth?: { tokenCache: string }; replicas?: { state: string }[] }>,
      () => null,
    );
    if (ready?.status === 'ready' && ready.replicas?.[0]?.state === 'streaming' && ready.auth?.tokenCache === 'listening') break;
    if (Date.now() > deadline) throw new Error(`tdplan serve did not become ready: ${JSON.stringify(ready)} ${output.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { url, child, output };
}

async function gql<T>(
  instance: Instance,
  token: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<{ status: number; data?: T; errors?: { message: string; extensions?: { code?: string } }[] }> {
  const response = await fetch(`${instance.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as object) };
}

describe.skipIf(postgresBinDir() === null)('two tdplan instances on one primary with a replica', () => {
  beforeAll(async () => {
    ({ primary, replica, db } = await startReplicatedTdplan());
    adminToken = await tokenFor(db, 'ADMIN');
    instances.push(...(await Promise.all([startInstance(), startInstance()])));
  }, 180_000);

  afterAll(async () => {
    await Promise.all(
      instances.map(
        (i) =>
          new Promise<void>((resolve) => {
            if (i.child.exitCode !== null) return resolve();
            i.child.once('exit', () => resolve());
            i.child.kill('SIGTERM');
          }),
      ),
    );
    await db?.close();
    if (replica) await removeCluster(replica);
    if (primary) await removeCluster(primary);
  }, 60_000);

  it('R5: concurrent placements onto the same hosts through two instances never overfill a host', async () => {
    const doc = {
      platforms: [{ name: 'TINY', sockets: 1, coresPerSocket: 32, threadsPerCore: 2 }],
      modules: [{ version: '9.0', maxVcpusPerTd: 1024, features: ['NO_RBP_MOD', 'TOPOLOGY_ENUM'], platforms: ['TINY'] }],
      kernels: [{ name: 'race', kvmMaxVcpus: 1024, tdxVcpuPolicy: 'PRESENT_CPUS' }],
      hosts: [
        { hostname: 'race-keys', platform: 'TINY', module: '9.0', kernel: 'race', presentCpus: 64, guestKeyIds: 5 },
        { hostname: 'race-cpus', platform: 'TINY', module: '9.0', kernel: 'race', presentCpus: 64, guestKeyIds: 100 },
      ],
      tds: Array.from({ length: 60 }, (_, i) => ({ name: `race-${i}`, vcpus: 6, host: null })),
    };
    expect(await importDocument(db, doc, 'MERGE')).toMatchObject({ ok: true });
    const place = async (i: number): Promise<string> => {
      // Alternate instances; each TD races for one of the two hosts. Placements onto one host wait for
      // its row lock while holding a pooled connection, so on a loaded machine a request can wait longer
      // than the pool's 3 s for one and be refused (503, nothing written): a client retries those.
      for (let attempt = 0; ; attempt++) {
        const res = await gql<{ placeTd: { __typename: string } }>(
          instances[i % 2]!,
          adminToken,
          `mutation($td: String!, $host: String!) { placeTd(td: { name: $td }, host: { hostname: $host }) { __typename } }`,
          { td: `race-${i}`, host: i < 30 ? 'race-keys' : 'race-cpus' },
        );
        if (res.status === 503 && res.errors?.[0]?.extensions?.code === 'DATABASE_UNAVAILABLE' && attempt < 5) continue;
        expect(res.errors).toBeUndefined();
        return res.data!.placeTd.__typename;
      }
    };
    const outcomes = await Promise.all(doc.tds.map((_, i) => place(i)));
    const { rows } = await db.pool.query<{ hostname: string; tds: number; vcpus: number }>(
      `SELECT h.hostname, count(t.id)::int AS tds, COALESCE(sum(t.vcpus), 0)::int AS vcpus
       FROM host h LEFT JOIN td t ON t.host_id = h.id WHERE h.hostname LIKE 'race-%' GROUP BY h.id ORDER BY h.hostname`,
    );
    // 5 KeyIDs on one host; 64 vCPUs (10 TDs of 6) on the other: full, never over.
    expect(rows).toEqual([
      { hostname: 'race-cpus', tds: 10, vcpus: 60 },
      { hostname: 'race-keys', tds: 5, vcpus: 30 },
    ]);
    expect(outcomes.filter((o) => o === 'MutationPlaceTdSuccess')).toHaveLength(15);
    // Both instances answer the same (each reads its own writes; the other catches up by replica or primary).
    for (const instance of instances) {
      const res = await gql<{ host: { freeKeyIds: number } }>(instance, adminToken, '{ host(hostname: "race-keys") { freeKeyIds } }', undefined);
      expect([0, 5]).toContain(res.data?.host.freeKeyIds);
    }
  });

  it('a token revoked through one instance is refused by the other at once (its cache is told)', async () => {
    const [a, b] = instances as [Instance, Instance];
    const created = await gql<{ createApiToken: { __typename: string; data?: { token: string } } }>(
      a,
      adminToken,
      'mutation { createApiToken(name: "ui-1", role: VIEWER) { __typename ... on MutationCreateApiTokenSuccess { data { token } } } }',
    );
    const token = created.data?.createApiToken.data?.token;
    expect(token, JSON.stringify(created)).toMatch(/^tdp_/);
    // Used on b (now cached there), several times.
    for (let i = 0; i < 3; i++) expect((await gql(b, token!, '{ me { name } }')).status).toBe(200);
    const revoked = await gql<{ revokeApiToken: { __typename: string } }>(a, adminToken, 'mutation { revokeApiToken(name: "ui-1") { __typename } }');
    expect(revoked.data?.revokeApiToken.__typename).toBe('MutationRevokeApiTokenSuccess');
    const refused = await gql(b, token!, '{ me { name } }');
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('a token revoked by the CLI (another process) is refused by both instances at once', async () => {
    const token = await tokenFor(db, 'VIEWER', 'ui-2');
    for (const instance of instances) expect((await gql(instance, token, '{ me { name } }')).status).toBe(200);
    await run(process.execPath, [BIN, 'token', 'revoke', 'ui-2'], { env: env() });
    for (const instance of instances) expect((await gql(instance, token, '{ me { name } }')).status).toBe(401);
  });
});
