// hosts(orderBy:): sorted by a host column then id, in SQL, and cursor pages that walk the whole
// sorted list forwards and backwards with no row lost or repeated (the planning UI's Hosts table).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createFleet } from '../support/fleet.js';
import { testClient, type TestClient } from '../support/server.js';

let db: TestDatabase;
let client: TestClient;

beforeAll(async () => {
  db = await createTestDatabase();
  client = testClient(db);
  await createFleet(db, { hosts: 45, tdsPerHost: 2 });
  // Uneven usage so TD_COUNT and ALLOCATED_VCPUS have ties and differences.
  await db.pool.query(`DELETE FROM td WHERE id IN (SELECT id FROM td ORDER BY id DESC LIMIT 17)`);
});
afterAll(async () => {
  await db.destroy();
});

interface Row {
  hostname: string;
  presentCpus: number;
  guestKeyIds: number;
  usedKeyIds: number;
  allocatedVcpus: number;
}
interface Page {
  hosts: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null; startCursor: string | null };
    edges: { node: Row }[];
  };
}

const PAGE = `query($first: Int, $after: String, $last: Int, $before: String, $orderBy: HostOrder, $filter: HostFilter) {
  hosts(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy, filter: $filter) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor startCursor }
    edges { node { hostname presentCpus guestKeyIds usedKeyIds allocatedVcpus } }
  }
}`;

const KEY = {
  HOSTNAME: 'hostname',
  PRESENT_CPUS: 'presentCpus',
  GUEST_KEY_IDS: 'guestKeyIds',
  TD_COUNT: 'usedKeyIds',
  ALLOCATED_VCPUS: 'allocatedVcpus',
} as const;

async function all(orderBy: { field: keyof typeof KEY; direction: 'ASC' | 'DESC' }, pageSize: number): Promise<Row[]> {
  const rows: Row[] = [];
  let after: string | null = null;
  for (;;) {
    const r: Awaited<ReturnType<typeof client.gql<Page>>> = await client.gql<Page>(PAGE, { first: pageSize, after, orderBy });
    expect(r.errors).toBeUndefined();
    rows.push(...r.data!.hosts.edges.map((e) => e.node));
    if (!r.data!.hosts.pageInfo.hasNextPage) return rows;
    after = r.data!.hosts.pageInfo.endCursor;
  }
}

describe('hosts(orderBy:)', () => {
  for (const field of Object.keys(KEY) as (keyof typeof KEY)[]) {
    for (const direction of ['ASC', 'DESC'] as const) {
      it(`pages through every host sorted by ${field} ${direction}`, async () => {
        const rows = await all({ field, direction }, 7);
        expect(rows).toHaveLength(45);
        expect(new Set(rows.map((r) => r.hostname)).size).toBe(45);
        const values = rows.map((r) => r[KEY[field]]);
        const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        expect(values).toEqual(direction === 'ASC' ? sorted : sorted.reverse());
      });
    }
  }

  it('pages backwards with last/before to the same rows, and combines with a filter', async () => {
    const orderBy = { field: 'ALLOCATED_VCPUS', direction: 'DESC' } as const;
    const forward = await all(orderBy, 10);
    const end = await client.gql<Page>(PAGE, { first: 45, orderBy });
    const last = await client.gql<Page>(PAGE, { last: 10, before: null, orderBy });
    expect(last.data!.hosts.edges.map((e) => e.node.hostname)).toEqual(forward.slice(-10).map((r) => r.hostname));
    const before = await client.gql<Page>(PAGE, { last: 10, before: last.data!.hosts.pageInfo.startCursor, orderBy });
    expect(before.data!.hosts.edges.map((e) => e.node.hostname)).toEqual(forward.slice(25, 35).map((r) => r.hostname));
    expect(end.data!.hosts.edges.map((e) => e.node.hostname)).toEqual(forward.map((r) => r.hostname));

    const filtered = await client.gql<Page>(PAGE, { first: 50, orderBy: { field: 'HOSTNAME', direction: 'DESC' }, filter: { hasModule: false } });
    const names = filtered.data!.hosts.edges.map((e) => e.node.hostname);
    expect(filtered.data!.hosts.totalCount).toBe(names.length);
    expect(names).toEqual([...names].sort().reverse());
    const { rows } = await db.pool.query<{ hostname: string }>('SELECT hostname FROM host WHERE module_id IS NULL ORDER BY hostname DESC');
    expect(names).toEqual(rows.map((r) => r.hostname));
  });
});
