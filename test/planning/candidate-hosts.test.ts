// A candidate page can carry its hosts' rows (`withHosts` of src/planning/placement.ts), so the
// GraphQL page needs one round trip instead of two. Those rows are read by hand-written SQL; they
// must be exactly the rows Prisma loads for the same hosts with the capacity facts, value for value
// (and, with the columns only, the same rows without kernel and module).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostFacts, hostFactsSelect, hostUsage } from '../../src/planning/host-facts.js';
import { candidateCursor, placementCandidates, type CandidateHost, type CandidateQuery } from '../../src/planning/placement.js';
import type { InventoryDocument } from '../../src/inventory/document.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { importDocument } from '../support/import.js';
import { createFleet } from '../support/fleet.js';
import { fleetWithTdsArb, quotedNameArb } from '../support/random-fleet.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.destroy();
});

/** Every candidate of `q`, with its host row, page after page. */
async function allCandidates(q: Omit<CandidateQuery, 'first' | 'after' | 'withHosts'>): Promise<{ hostId: number; host: CandidateHost }[]> {
  const out: { hostId: number; host: CandidateHost }[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await placementCandidates(db, { ...q, first: 7, after, withHosts: 'facts' });
    const columns = await placementCandidates(db, { ...q, first: 7, after, withHosts: 'columns' });
    // The columns alone: the same page, the same rows without the kernel and module.
    expect(columns.candidates.map(({ host, ...c }) => ({ ...c, host: host! }))).toStrictEqual(
      page.candidates.map(({ host, ...c }) => {
        const { kernel: _kernel, module: _module, ...hostColumns } = host as CandidateHost;
        return { ...c, host: hostColumns };
      }),
    );
    for (const c of page.candidates) out.push({ hostId: c.hostId, host: c.host as CandidateHost });
    if (!page.hasNextPage) return out;
    after = candidateCursor(page.candidates.at(-1)!);
  }
}

// Prisma's order of a module's platforms is not specified; the rules read them as a set.
const platformsSorted = (row: CandidateHost): CandidateHost =>
  row.module ? { ...row, module: { ...row.module, platforms: [...row.module.platforms].sort((a, b) => a.platformId - b.platformId) } } : row;

// Modules with migration ranges, so the R6 statement runs too.
const withMigration = (doc: InventoryDocument): InventoryDocument => ({
  ...doc,
  modules: doc.modules.map((m, i) => ({ ...m, migration: { minExportVersion: i, maxExportVersion: i + 1, minImportVersion: 0, maxImportVersion: i + 1 } })),
});

/** Compares every candidate's row of each query with Prisma's; how many rows were compared. */
async function compareWithPrisma(queries: Omit<CandidateQuery, 'first' | 'after' | 'withHosts'>[]): Promise<number> {
  let compared = 0;
  for (const q of queries) {
    const got = await allCandidates(q);
    const expected = await db.prisma.host.findMany({
      where: { id: { in: got.map((c) => c.hostId) } },
      include: { kernel: { select: hostFactsSelect.kernel.select }, module: { select: hostFactsSelect.module.select } },
    });
    const byId = new Map(expected.map((h) => [h.id, h]));
    for (const { hostId, host } of got) {
      const prismaRow = byId.get(hostId)!;
      expect(platformsSorted(host)).toStrictEqual(platformsSorted(prismaRow));
      expect(hostFacts(host)).toStrictEqual(hostFacts(prismaRow));
      expect(hostUsage(host)).toStrictEqual(hostUsage(prismaRow));
      compared += 1;
    }
  }
  return compared;
}

/** Placement with and without memory, and migration (whose R6 condition has a tdx_module of its own). */
async function queriesFor(vcpus: number): Promise<Omit<CandidateQuery, 'first' | 'after' | 'withHosts'>[]> {
  const module = await db.prisma.tdxModule.findFirst({ where: { minExportVersion: { not: null }, maxExportVersion: { not: null } } });
  return [
    { vcpus, memoryMiB: null },
    { vcpus, memoryMiB: 512 },
    ...(module
      ? [{ vcpus, memoryMiB: null, migration: { sourceHostId: null, minExportVersion: module.minExportVersion!, maxExportVersion: module.maxExportVersion! } }]
      : []),
  ];
}

describe('candidate pages with their hosts', () => {
  it("carry every host's row as Prisma loads it with the capacity facts: a fixed fleet", async () => {
    await createFleet(db, { hosts: 60, tdsPerHost: 2 });
    // With NO_RBP_MOD the fixture's hosts with a module have TDX enabled (R1 v2, STRICT kernel).
    await db.prisma.tdxModule.updateMany({
      data: { features: ['TOPOLOGY_ENUM', 'NO_RBP_MOD'], minExportVersion: 1, maxExportVersion: 2, minImportVersion: 0, maxImportVersion: 2 },
    });
    expect(await compareWithPrisma(await queriesFor(8))).toBeGreaterThan(100);
  });

  it("carry every host's row as Prisma loads it with the capacity facts: random fleets", async () => {
    await fc.assert(
      // Hostnames PostgreSQL quotes in the hosts' record literals, for some of the hosts.
      fc.asyncProperty(
        fleetWithTdsArb.map(withMigration),
        fc.constantFrom(1, 8, 64),
        fc.uniqueArray(quotedNameArb, { maxLength: 4 }),
        async (doc, vcpus, names) => {
          expect(await importDocument(db, doc, 'REPLACE')).toMatchObject({ ok: true });
          const hosts = await db.prisma.host.findMany({ select: { id: true }, orderBy: { id: 'asc' }, take: names.length });
          for (const [i, h] of hosts.entries()) await db.prisma.host.update({ where: { id: h.id }, data: { hostname: names[i]! } });
          await compareWithPrisma(await queriesFor(vcpus));
        },
      ),
      { numRuns: 15 },
    );
  });
});
