// The authentication cache falls back safely: on the embedded database (no notifications between
// connections) it stays off; on PostgreSQL, losing the LISTEN connection empties it and turns it
// off until it listens again, and a revoke is refused at once in every state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revokeApiToken } from '../../src/commands/tokens.js';
import { TOKEN_CHANNEL } from '../../src/auth/token-cache.js';
import { createTdplanYoga, listen, type RunningServer } from '../../src/server.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../support/database.js';
import { tokenFor } from '../support/server.js';

let db: TestDatabase;
let server: RunningServer;
let base: string;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await listen(createTdplanYoga(db), '127.0.0.1', 0);
  base = server.url.replace(/\/graphql$/, '');
});
afterAll(async () => {
  await server.close();
  await db.destroy();
});

async function me(token: string): Promise<number> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ me { name } }' }),
  });
  await res.arrayBuffer();
  return res.status;
}

async function cacheState(): Promise<string> {
  return ((await (await fetch(`${base}/readyz`)).json()) as { auth: { tokenCache: string } }).auth.tokenCache;
}

/**
 * Whether `token` is refused within `ms`. A revoke reaches a listening instance as a notification that
 * PostgreSQL sends at commit: in the same instant as the revoker's own answer, but on another connection,
 * so on a machine loaded far beyond its cores the very next request can come first. The bound is the
 * notification's delivery, not a cache lifetime.
 */
async function refusedWithin(token: string, ms = 1_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if ((await me(token)) === 401) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const revoke = (name: string): Promise<unknown> => revokeApiToken(db.prisma, { name: 'test', role: 'ADMIN' }, name);

describe('authentication cache', () => {
  it.runIf(databaseKind === 'embedded')('stays off on the embedded database, and a revoke is refused at once', async () => {
    expect(await cacheState()).toBe('off');
    const token = await tokenFor(db, 'VIEWER', 'cache-embedded');
    expect(await me(token)).toBe(200);
    await revoke('cache-embedded');
    expect(await me(token)).toBe(401);
  });

  it.runIf(databaseKind === 'postgres')(
    'a revoke is refused as soon as its notification arrives while listening, and at once after the listener is lost',
    async () => {
      expect(await cacheState()).toBe('listening');
      const first = await tokenFor(db, 'VIEWER', 'cache-1');
      expect(await me(first)).toBe(200);
      expect(await me(first)).toBe(200);
      await revoke('cache-1');
      expect(await refusedWithin(first)).toBe(true);

      // The listening connection dies (a failover, a proxy timeout): the cache empties and goes off.
      const second = await tokenFor(db, 'VIEWER', 'cache-2');
      expect(await me(second)).toBe(200);
      const { rows } = await db.pool.query<{ n: number }>(
        // The listener's last statement was its LISTEN.
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND query = $1`,
        [`LISTEN ${TOKEN_CHANNEL}`],
      );
      expect(rows[0]!.n).toBe(1);
      for (let i = 0; (await cacheState()) === 'listening'; i++) {
        if (i > 100) throw new Error('the cache did not notice its listener was gone');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await revoke('cache-2');
      expect(await me(second)).toBe(401);
      // It listens again by itself, and is told of revokes as before.
      for (let i = 0; (await cacheState()) !== 'listening'; i++) {
        if (i > 200) throw new Error('the cache did not listen again');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const third = await tokenFor(db, 'VIEWER', 'cache-3');
      expect(await me(third)).toBe(200);
      await revoke('cache-3');
      expect(await refusedWithin(third)).toBe(true);
    },
  );
});
