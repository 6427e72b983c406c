// Placement candidates and migration targets are SQL; they must be exactly the hosts the pure
// rules accept (R5, R6, with R7 memory where known), in best-fit order, across pages.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocatedMemoryKiB, migrationBlockers, schedulableVcpus, tdFitBlockers, tdMemoryMiB, type HostFacts, type TdSize } from '../../src/capacity/rules.js';
import type { InventoryDocument } from '../../src/inventory/document.js';
import { importDocument } from '../support/import.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { factsOf, fleetWithTdsArb, tdMemoryArb, usageOf } from '../support/random-fleet.js';
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
async function allPages(
  query: string,
  variables: Record<string, unknown>,
  pick: (data: Record<string, unknown>) => Page,
): Promise<{ names: string[]; remaining: number[]; totalCount: number }> {
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

/**
 * A fleet and a TD size: a fixed size, or exactly some host's free vCPUs, or a memory that fills
 * some host's memory for TDs exactly or one MiB over (the boundaries where an off-by-one in SQL
 * would show: the TD fits with nothing left).
 */
const fleetAndSizeArb = (sizes: number[]) =>
  fleetWithTdsArb.chain((doc) => {
    const facts = factsOf(doc);
    const usage = usageOf(doc);
    // Sizes that fill some accepting host exactly.
    const exact = doc.hosts
      .map((h) => ({ h, v: schedulableVcpus(facts.get(h.hostname)!) - usage.get(h.hostname)!.allocatedVcpus }))
      .filter(({ h, v }) => v > 0 && tdFitBlockers(facts.get(h.hostname)!, usage.get(h.hostname)!, { vcpus: v, memoryMiB: null }).length === 0)
      .map(({ v }) => v);
    const vcpusArb = exact.length > 0 ? fc.oneof(fc.constantFrom(...sizes), fc.constantFrom(...exact)) : fc.constantFrom(...sizes);
    return fc.tuple(fc.constant(doc), vcpusArb).chain(([d, vcpus]) => {
      // Memory that fills a host exactly: the room left less the control pages, in whole MiB of 1028 KiB.
      const fills = d.hosts.flatMap((h) => {
        const f = facts.get(h.hostname)!;
        if (f.memoryMiB === null || f.module === null) return [];
        const room =
          1024 * tdMemoryMiB({ memoryMiB: f.memoryMiB, reservedMemoryMiB: f.reservedMemoryMiB }) - allocatedMemoryKiB(f.module, usage.get(h.hostname)!);
        const mib = Math.floor((room - 4 * (1 + f.module.tdcsPages + vcpus * f.module.tdvpsPages)) / 1028);
        return mib >= 1 ? [mib, mib + 1] : [];
      });
      const memoryArb = fills.length > 0 ? fc.oneof(tdMemoryArb, fc.constantFrom(...fills)) : tdMemoryArb;
      return memoryArb.map((memoryMiB): [typeof d, TdSize] => [d, { vcpus, memoryMiB }]);
    });
  });

describe('placement candidates and migration targets agree with the pure rules', () => {
  it('R5: placementCandidates lists exactly the hosts where tdFitBlockers is empty, best fit first, over pages', async () => {
    await fc.assert(
      fc.asyncProperty(fleetAndSizeArb([1, 8, 64, 300, 600]), fc.constantFrom(1, 3, 100), async ([doc, td], size) => {
        expect(await importDocument(db, doc, 'REPLACE')).toMatchObject({ ok: true });
        const { vcpus } = td;
        const facts = factsOf(doc);
        const usage = usageOf(doc);
        const expected = doc.hosts.filter((h) => tdFitBlockers(facts.get(h.hostname)!, usage.get(h.hostname)!, td).length === 0).map((h) => h.hostname);
        const got = await allPages(
          `query($v: Int!, $m: Int, $n: Int!, $after: String) { placementCandidates(vcpus: $v, memoryMiB: $m, first: $n, after: $after) {
            totalCount pageInfo { hasNextPage endCursor } edges { remainingVcpus node { hostname } } } }`,
          { v: vcpus, m: td.memoryMiB, n: size },
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
        expect(await importDocument(db, doc, 'REPLACE')).toMatchObject({ ok: true });
        const facts = migrationFacts(doc);
        const usage = usageOf(doc);
        for (const td of doc.tds.slice(0, 5)) {
          const expected = doc.hosts
            .filter((h) => {
              const source = td.host === null ? null : facts.get(td.host)!;
              const blockers = migrationBlockers({
                td: {
                  vcpus: td.vcpus,
                  memoryMiB: td.memoryMiB,
                  migratable: td.migratable,
                  hostId: td.host === null ? null : doc.hosts.findIndex((x) => x.hostname === td.host),
                },
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

describe('R7 boundaries in SQL', () => {
  // 2560 MiB of RAM: PAMT 10 MiB, 2550 MiB (2,611,200 KiB) for TDs. A TD of 2539 MiB and 45 vCPUs on
  // a module of 6 TDCS and 6 TDVPS pages takes 1028 x 2539 + 4 x (1 + 6 + 45 x 6) = 2,611,200 KiB exactly.
  const doc = (tdcsPages: number, memoryMiB: number | null): InventoryDocument => ({
    platforms: [{ name: 'P', sockets: 1, coresPerSocket: 64, threadsPerCore: 1 }],
    modules: [{ version: '1.5', maxVcpusPerTd: 64, features: ['NO_RBP_MOD', 'TOPOLOGY_ENUM'], platforms: ['P'], tdcsPages, tdvpsPages: 6 }],
    kernels: [{ name: 'k', kvmMaxVcpus: 1024, tdxVcpuPolicy: 'PRESENT_CPUS', tdxInitFailure: 'FAIL_KVM_LOAD', moduleMetadata: 'STRICT' }],
    hosts: [
      {
        hostname: 'h',
        platform: 'P',
        module: '1.5',
        kernel: 'k',
        presentCpus: 64,
        guestKeyIds: 4,
        allocationRatio: 1,
        kvmIntelTdx: true,
        memoryMiB,
        reservedMemoryMiB: 0,
      },
    ],
    tds: [],
  });
  const candidates = async (memoryMiB: number | null): Promise<string[]> => {
    const res = await client.gql<{ placementCandidates: Page }>(
      'query($m: Int) { placementCandidates(vcpus: 45, memoryMiB: $m) { totalCount pageInfo { hasNextPage endCursor } edges { remainingVcpus node { hostname } } } }',
      { m: memoryMiB },
    );
    expect(res.errors).toBeUndefined();
    return res.data!.placementCandidates.edges.map((e) => e.node.hostname);
  };

  it('R7: a TD that fills the memory for TDs exactly is a candidate; 4 KiB more (one more TDCS page) is not', async () => {
    expect(await importDocument(db, doc(6, 2560), 'REPLACE')).toMatchObject({ ok: true });
    expect(await candidates(2539)).toEqual(['h']);
    expect(await candidates(2540)).toEqual([]);
    expect(await importDocument(db, doc(7, 2560), 'REPLACE')).toMatchObject({ ok: true });
    expect(await candidates(2539)).toEqual([]);
  });

  it('R7: unknown memory on the host or the TD is not checked', async () => {
    expect(await importDocument(db, doc(6, null), 'REPLACE')).toMatchObject({ ok: true });
    expect(await candidates(1 << 24)).toEqual(['h']);
    expect(await importDocument(db, doc(6, 2560), 'REPLACE')).toMatchObject({ ok: true });
    expect(await candidates(null)).toEqual(['h']);
  });
});

describe('whatFitsWhere agrees with the pure rules', () => {
  it('R5: accepting hosts and blocker counts equal tdFitBlockers host by host, by module, platform and kernel', async () => {
    await fc.assert(
      fc.asyncProperty(fleetAndSizeArb([1, 64, 300, 600]), async ([doc, { vcpus }]) => {
        expect(await importDocument(db, doc, 'REPLACE')).toMatchObject({ ok: true });
        const facts = factsOf(doc);
        const usage = usageOf(doc);
        // whatFitsWhere asks about a TD of vCPUs only: its memory is unknown, so R7 does not apply.
        const blockersOf = new Map(
          doc.hosts.map((h) => [h.hostname, tdFitBlockers(facts.get(h.hostname)!, usage.get(h.hostname)!, { vcpus, memoryMiB: null }).map((b) => b.code)]),
        );
        const order = ['TDX_DISABLED', 'VCPUS_EXCEED_KVM_CAP', 'NO_FREE_KEYID', 'INSUFFICIENT_VCPUS'];
        const counts = (hosts: typeof doc.hosts, key: string | null) => {
          const blockerCounts = new Map<string, number>();
          for (const h of hosts) for (const code of blockersOf.get(h.hostname)!) blockerCounts.set(code, (blockerCounts.get(code) ?? 0) + 1);
          return {
            key,
            acceptingHosts: hosts.filter((h) => blockersOf.get(h.hostname)!.length === 0).length,
            refusingHosts: hosts.filter((h) => blockersOf.get(h.hostname)!.length > 0).length,
            blockers: [...blockerCounts].sort(([a], [b]) => order.indexOf(a) - order.indexOf(b)).map(([code, hosts]) => ({ code, hosts })),
          };
        };
        const by = (key: (h: (typeof doc.hosts)[number]) => string | null) =>
          [...new Set(doc.hosts.map(key))]
            .sort((a, b) => (a === null ? -1 : b === null ? 1 : a < b ? -1 : a > b ? 1 : 0))
            .map((k) =>
              counts(
                doc.hosts.filter((h) => key(h) === k),
                k,
              ),
            );
        const COUNTS = 'key acceptingHosts refusingHosts blockers { code hosts }';
        const res = await client.gql<{ whatFitsWhere: unknown }>(
          `query($v: Int!) { whatFitsWhere(vcpus: $v) { vcpus fleet { ${COUNTS} } byModule { ${COUNTS} } byPlatform { ${COUNTS} } byKernel { ${COUNTS} } } }`,
          { v: vcpus },
        );
        expect(res.errors).toBeUndefined();
        expect(res.data!.whatFitsWhere).toEqual({
          vcpus,
          fleet: counts(doc.hosts, null),
          byModule: by((h) => h.module),
          byPlatform: by((h) => h.platform),
          byKernel: by((h) => h.kernel),
        });
        expect(res.extensions!.sqlRoundTrips).toBe(1);
      }),
      { numRuns: 25 },
    );
  });

  it('refuses a non-positive size with a typed error', async () => {
    const res = await client.gql('{ whatFitsWhere(vcpus: 0) { vcpus } }');
    expect(res.errors?.[0]).toMatchObject({ message: 'vcpus: must be positive, got 0', extensions: { code: 'VALIDATION_FAILED' } });
  });
});
