// host.td_count and host.allocated_vcpus are kept by triggers on td (migration
// 20261124195634_host_usage_columns), and every placement rule reads them (R5, R6); so are the sums
// over the TDs of known memory R7 reads (migration 20261127160000_domain_revision_2). They must
// equal the sums over td after any mix of writes, bulk or single, through every path that writes td.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFleet } from '../../src/inventory/generate.js';
import { importDocument } from '../support/import.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { fleetWithTdsArb } from '../support/random-fleet.js';
import { testClient, type TestClient } from '../support/server.js';

let db: TestDatabase;
let client: TestClient;

beforeAll(async () => {
  db = await createTestDatabase();
  client = testClient(db);
});
afterAll(async () => {
  await db.destroy();
});

/** Hosts whose kept columns differ from the sums over td (none, when the triggers are right). */
async function driftedHosts(): Promise<unknown[]> {
  const { rows } = await db.pool.query(
    `SELECT h.hostname, h.td_count, h.allocated_vcpus, count(t.id)::int AS actual_count, COALESCE(sum(t.vcpus), 0)::int AS actual_vcpus,
            h.known_memory_td_count, h.known_memory_td_vcpus, h.known_memory_td_mib
     FROM host h LEFT JOIN td t ON t.host_id = h.id
     GROUP BY h.id
     HAVING h.td_count <> count(t.id) OR h.allocated_vcpus <> COALESCE(sum(t.vcpus), 0)
         OR h.known_memory_td_count <> count(t.memory_mib)
         OR h.known_memory_td_vcpus <> COALESCE(sum(t.vcpus) FILTER (WHERE t.memory_mib IS NOT NULL), 0)
         OR h.known_memory_td_mib <> COALESCE(sum(t.memory_mib), 0)`,
  );
  return rows;
}

const operationArb = fc.oneof(
  fc.record({ kind: fc.constant('move' as const), td: fc.nat(39), host: fc.option(fc.nat(24), { nil: null }) }),
  fc.record({ kind: fc.constant('resize' as const), td: fc.nat(39), vcpus: fc.constantFrom(1, 4, 96) }),
  fc.record({ kind: fc.constant('memory' as const), td: fc.nat(39), memoryMiB: fc.option(fc.constantFrom(512, 4096), { nil: null }) }),
  fc.record({ kind: fc.constant('delete' as const), td: fc.nat(39) }),
  fc.record({ kind: fc.constant('create' as const), host: fc.nat(24), vcpus: fc.constantFrom(2, 32) }),
  fc.record({ kind: fc.constant('mergeImport' as const), shift: fc.nat(5) }),
);

describe('host usage columns', () => {
  it('R5/R6/R7: td_count, allocated_vcpus and the known-memory sums equal the sums over td after imports and every kind of TD write', async () => {
    let created = 0;
    await fc.assert(
      fc.asyncProperty(fleetWithTdsArb, fc.array(operationArb, { maxLength: 8 }), async (doc, operations) => {
        expect(await importDocument(db, doc, 'REPLACE')).toMatchObject({ ok: true });
        expect(await driftedHosts()).toEqual([]);
        const hostname = (i: number): string => doc.hosts[i % doc.hosts.length]!.hostname;
        const tdName = (i: number): string | undefined => doc.tds[i % Math.max(doc.tds.length, 1)]?.name;
        for (const op of operations) {
          // Operations on TDs an earlier operation deleted fail as NotFound: that is fine, the columns must still agree.
          if (op.kind === 'move' && tdName(op.td)) {
            const host = op.host === null ? null : { hostname: hostname(op.host) };
            await client.gql('mutation($td: String!, $host: HostRef) { updateTd(td: { name: $td }, input: { host: $host }) { __typename } }', {
              td: tdName(op.td),
              host,
            });
          } else if (op.kind === 'resize' && tdName(op.td)) {
            await client.gql('mutation($td: String!, $v: Int!) { updateTd(td: { name: $td }, input: { vcpus: $v }) { __typename } }', {
              td: tdName(op.td),
              v: op.vcpus,
            });
          } else if (op.kind === 'memory' && tdName(op.td)) {
            await client.gql('mutation($td: String!, $m: Int) { updateTd(td: { name: $td }, input: { memoryMiB: $m }) { __typename } }', {
              td: tdName(op.td),
              m: op.memoryMiB,
            });
          } else if (op.kind === 'delete' && tdName(op.td)) {
            await client.gql('mutation($td: String!) { deleteTd(td: { name: $td }) { __typename } }', { td: tdName(op.td) });
          } else if (op.kind === 'create') {
            created += 1;
            const res = await client.gql(
              'mutation($n: String!, $h: String!, $v: Int!) { createTd(input: { name: $n, vcpus: $v, host: { hostname: $h } }) { __typename } }',
              {
                n: `created-${created}`,
                h: hostname(op.host),
                v: op.vcpus,
              },
            );
            expect(res.errors).toBeUndefined();
          } else if (op.kind === 'mergeImport') {
            // A bulk upsert that moves every TD to another host and changes its size.
            const tds = doc.tds.map((td, i) => ({
              ...td,
              vcpus: td.vcpus + op.shift,
              memoryMiB: i % 2 === 0 ? td.memoryMiB : 1000 + op.shift,
              host: i % 3 === 0 ? null : hostname(i + op.shift),
            }));
            expect(await importDocument(db, { ...doc, tds }, 'MERGE')).toMatchObject({ ok: true });
          }
          expect(await driftedHosts()).toEqual([]);
        }
      }),
      { numRuns: 15 },
    );
  });

  it('R5/R6: a bulk import of more than one batch (triggers skipped, columns recomputed once) leaves no drift', async () => {
    const doc = generateFleet({ hosts: 400, tds: 25_000, seed: 7 });
    expect(await importDocument(db, doc, 'REPLACE')).toMatchObject({ ok: true });
    expect(await driftedHosts()).toEqual([]);
    const { rows } = await db.pool.query<{ n: number }>('SELECT sum(td_count)::int AS n FROM host');
    expect(rows[0]!.n).toBe(doc.tds.filter((t) => t.host !== null).length);
    // Move every TD to another host in one MERGE: old hosts lose them, new hosts gain them.
    const moved = { ...doc, tds: doc.tds.map((td, i) => ({ ...td, host: doc.hosts[(i * 7) % doc.hosts.length]!.hostname })) };
    expect(await importDocument(db, moved, 'MERGE')).toMatchObject({ ok: true });
    expect(await driftedHosts()).toEqual([]);
    // And the triggers are back on for the next writer in the same session.
    const res = await client.gql('mutation { deleteTd(td: { name: "' + doc.tds[0]!.name + '" }) { __typename } }');
    expect(res.errors).toBeUndefined();
    expect(await driftedHosts()).toEqual([]);
  });
});
