// Placement candidates and migration targets are SQL; they must be exactly the hosts the pure
// rules accept (R5, R6), in best-fit order, across pages.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationBlockers, schedulableVcpus, tdFitBlockers, type HostFacts } from '../../src/capacity/rules.js';
import type { InventoryDocument } from '../../src/inventory/document.js';
import { importInventory } from '../../src/inventory/import.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { factsOf, fleetWithTdsArb, usageOf } from '../support/random-fleet.js';
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

interface Page {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { remainingVcpus: number; node: { hostname: string } }[];
}

/** Every page of a candidate connection, `size` at a time. */
async function allPages(query: string, variables: Record<string, unknown>, pick: (data: Record<string, unknown>) => Page): Promise<{ names: string[]; remaining: number[]; totalCount: number }> {
  const names: string[] = [];
  const remaining: number[] = [];
  let after: string | null = null;
  let totalCount = -1;
  for (;;) {
    const res = await client.gql<Record<string, unknown>>(query, { ...variables, after });
    expect(res.errors).toBeUndefined();
    const page = pick(res.data!);
    totalCount = page.totalCount;
    names.push(...page.edges.map((e) => e.node.hostname));
    remaining.push(...page.edges.map((e) => e.remainingVcpus));
    if (!page.pageInfo.hasNextPage) return { names, remaining, totalCount };
    after = page.pageInfo.endCursor;
  }
}

const withMigration = (doc: InventoryDocument): InventoryDocument => ({
  ...doc,
  // Give most modules migration ranges that sometimes overlap and sometimes do not.
  modules: doc.modules.map((m, i) =>
    i % 3 === 2 ? m : { ...m, migration: { minExportVersion: i, maxExportVersion: i + 1, minImportVersion: i % 2, maxImportVersion: i + 1 } },
  ),
});

function migrationFacts(doc: InventoryDocument): Map<string, HostFacts> {
  const facts = factsOf(doc);
  for (const h of doc.hosts) {
    const module = doc.modules.find((m) => m.version === h.module);
    const f = facts.get(h.hostname)!;
    if (f.module && module) f.module = { ...f.module, migration: module.migration ?? null };
  }
  return facts;
}

describe('placement candidates and migration targets agree with the pure rules', () => {
  it('R5: placementCandidates lists exactly the hosts where tdFitBlockers is empty, best fit first, over pages', async () => {
    await fc.assert(
      fc.asyncProperty(fleetWithTdsArb, fc.constantFrom(1, 8, 64, 300, 600), fc.constantFrom(1, 3, 100), async (doc, vcpus, size) => {
        expect(await importInventory(db, doc, 'REPLACE')).toMatchObject({ ok: true });
        const facts = factsOf(doc);
        const usage = usageOf(doc);
        const expected = doc.hosts
          .filter((h) => tdFitBlockers(facts.get(h.hostname)!, usage.get(h.hostname)!, vcpus).length === 0)
          .map((h) => h.hostname);
        const got = await allPages(
          `query($v: Int!, $n: Int!, $after: String) { placementCandidates(vcpus: $v, first: $n, after: $after) {
            totalCount pageInfo { hasNextPage endCursor } edges { remainingVcpus node { hostname } } } }`,
          { v: vcpus, n: size },
          (d) => d.placementCandidates as Page,
        );
        expect([...got.names].sort()).toEqual([...expected].sort());
        expect(got.totalCount).toBe(expected.length);
        // best fit: remaining vCPUs never decrease along the list, and equal schedulable - allocated - vcpus
        expect(got.remaining).toEqual([...got.remaining].sort((a, b) => a - b));
        got.names.forEach((name, i) => {
          expect(got.remaining[i]).toBe(schedulableVcpus(facts.get(name)!) - usage.get(name)!.allocatedVcpus - vcpus);
        });
      }),
      { numRuns: 25 },
    );
  });

  it('R6: Td.migrationTargets lists exactly the hosts where migrationBlockers is empty', async () => {
    await fc.assert(
      fc.asyncProperty(fleetWithTdsArb.map(withMigration), async (doc) => {
        expect(await importInventory(db, doc, 'REPLACE')).toMatchObject({ ok: true });
        const facts = migrationFacts(doc);
        const usage = usageOf(doc);
        for (const td of doc.tds.slice(0, 5)) {
          const expected = doc.hosts
            .filter((h) => {
              const source = td.host === null ? null : facts.get(td.host)!;
              const blockers = migrationBlockers({
                td: { vcpus: td.vcpus, migratable: td.migratable, hostId: td.host === null ? null : doc.hosts.findIndex((x) => x.hostname === td.host) },
                sourceHost: source ?? { ...facts.get(h.hostname)!, module: null },
                targetHostId: doc.hosts.indexOf(h),
                targetHost: facts.get(h.hostname)!,
                targetUsage: usage.get(h.hostname)!,
              });
              return td.host !== null && blockers.length === 0;
            })
            .map((h) => h.hostname);
          const got = await allPages(
            `query($name: String!, $after: String) { td(name: $name) { migrationTargets(first: 7, after: $after) {
              totalCount pageInfo { hasNextPage endCursor } edges { remainingVcpus node { hostname } } } } }`,
            { name: td.name },
            (d) => (d.td as { migrationTargets: Page }).migrationTargets,
          );
          expect([...got.names].sort()).toEqual([...expected].sort());
          expect(got.totalCount).toBe(expected.length);
        }
      }),
      { numRuns: 15 },
    );
  });
});
