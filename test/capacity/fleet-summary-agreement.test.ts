// fleetSummary is SQL (grouping sets over the capacity views); it must equal the same aggregates
// computed from the pure rules, host by host, on random fleets with TDs.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostCapacity, type HostCapacity } from '../../src/capacity/rules.js';
import { demoFleet } from '../../src/inventory/demo-fleet.js';
import type { InventoryDocument } from '../../src/inventory/document.js';
import { importDocument } from '../support/import.js';
import type { SummaryTotals } from '../../src/planning/fleet-summary.js';
import { connectDatabase } from '../../src/db/client.js';
import { fleetSummary } from '../../src/planning/fleet-summary.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../support/database.js';
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

const TOTALS = `hosts tdxEnabledHosts tdSlots freeVcpus largestPlaceableTdVcpus kvmLoadFailingHosts overFullHosts
  tdMemoryMiB allocatedMemoryMiB freeMemoryMiB excessMemoryMiB unknownMemoryHosts
  tdxDisabledByReason { reason hosts kvmLoadFailingHosts } kvmCapDistribution { kvmCapMaxVcpus hosts }`;
const QUERY = `{ fleetSummary { ${TOTALS} byModule { key ${TOTALS} } byPlatform { key ${TOTALS} } byKernel { key ${TOTALS} } } }`;

type Totals = Omit<SummaryTotals, never>;

/** The oracle: the same aggregates from hostCapacity() of each host. */
function expectedTotals(capacities: HostCapacity[]): Totals {
  const enabled = capacities.filter((c) => c.tdxEnabled);
  const reasons = new Map<string, { hosts: number; kvmLoadFailingHosts: number }>();
  for (const c of capacities) {
    for (const r of c.tdxDisabledReasons) {
      const n = reasons.get(r.code) ?? { hosts: 0, kvmLoadFailingHosts: 0 };
      reasons.set(r.code, { hosts: n.hosts + 1, kvmLoadFailingHosts: n.kvmLoadFailingHosts + (r.effect === 'KVM_LOAD_FAILS' ? 1 : 0) });
    }
  }
  const sum = (f: (c: HostCapacity) => number | null): number => capacities.reduce((n, c) => n + (f(c) ?? 0), 0);
  const caps = new Map<number, number>();
  for (const c of enabled) caps.set(c.kvmCapMaxVcpus!, (caps.get(c.kvmCapMaxVcpus!) ?? 0) + 1);
  const placeable = enabled.filter((c) => c.freeKeyIds > 0 && c.freeVcpus > 0).map((c) => Math.min(c.kvmCapMaxVcpus!, c.freeVcpus));
  return {
    hosts: capacities.length,
    tdxEnabledHosts: enabled.length,
    tdSlots: enabled.reduce((n, c) => n + c.freeKeyIds, 0),
    freeVcpus: enabled.reduce((n, c) => n + c.freeVcpus, 0),
    largestPlaceableTdVcpus: placeable.length ? Math.max(...placeable) : null,
    kvmLoadFailingHosts: capacities.filter((c) => !c.kvmLoads).length,
    overFullHosts: capacities.filter((c) => c.excessKeyIds > 0 || c.excessVcpus > 0 || (c.excessMemoryMiB ?? 0) > 0).length,
    tdMemoryMiB: sum((c) => c.tdMemoryMiB),
    allocatedMemoryMiB: sum((c) => c.allocatedMemoryMiB),
    freeMemoryMiB: sum((c) => c.freeMemoryMiB),
    excessMemoryMiB: sum((c) => c.excessMemoryMiB),
    unknownMemoryHosts: enabled.filter((c) => c.tdMemoryMiB === null).length,
    tdxDisabledByReason: [...reasons].sort(([a], [b]) => (a < b ? -1 : 1)).map(([reason, n]) => ({ reason, ...n })),
    kvmCapDistribution: [...caps].sort(([a], [b]) => a - b).map(([kvmCapMaxVcpus, hosts]) => ({ kvmCapMaxVcpus, hosts })),
  };
}

function expectedSummary(doc: InventoryDocument) {
  const facts = factsOf(doc);
  const usage = usageOf(doc);
  const rows = doc.hosts.map((h) => ({ h, c: hostCapacity(facts.get(h.hostname)!, usage.get(h.hostname)!) }));
  const groupBy = (key: (h: (typeof doc.hosts)[number]) => string | null) => {
    const keys = [...new Set(rows.map((r) => key(r.h)))].sort((a, b) => (a === null ? -1 : b === null ? 1 : a < b ? -1 : a > b ? 1 : 0));
    return keys.map((k) => ({ key: k, ...expectedTotals(rows.filter((r) => key(r.h) === k).map((r) => r.c)) }));
  };
  return {
    ...expectedTotals(rows.map((r) => r.c)),
    byModule: groupBy((h) => h.module),
    byPlatform: groupBy((h) => h.platform),
    byKernel: groupBy((h) => h.kernel),
  };
}

describe('fleetSummary', () => {
  it('R1 v2/R3/R4b/R5/R7: equals the pure rules aggregated host by host (KVM load failures, effects, memory), on random fleets', async () => {
    await fc.assert(
      fc.asyncProperty(fleetWithTdsArb, async (doc) => {
        expect(await importDocument(db, doc, 'REPLACE')).toMatchObject({ ok: true });
        const res = await client.gql<{ fleetSummary: unknown }>(QUERY);
        expect(res.errors).toBeUndefined();
        expect(res.data!.fleetSummary).toEqual(expectedSummary(doc));
        expect(res.extensions!.sqlRoundTrips).toBe(1);
      }),
      { numRuns: 30 },
    );
  });

  it('R1: summarises the demo fleet: every disabled reason appears', async () => {
    expect(await importDocument(db, demoFleet(), 'REPLACE')).toMatchObject({ ok: true });
    const res = await client.gql<{ fleetSummary: Totals }>(QUERY);
    const summary = res.data!.fleetSummary;
    expect(summary).toEqual(expect.objectContaining({ hosts: 17, tdxEnabledHosts: 8 }));
    expect(summary.tdxDisabledByReason.map((r) => r.reason)).toEqual([
      'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS',
      'NO_GUEST_KEYIDS',
      'NO_MAX_VCPUS_METADATA',
      'NO_MODULE',
      'NO_RBP_MOD',
      'NO_TOPOLOGY_ENUM',
      'PLATFORM_UNSUPPORTED',
      'TDX_NOT_REQUESTED',
    ]);
    // R1 v2: spr-a03 and spr-a04 (old modules) and gnr-b01 (576 < 688) on linux-6.16 would not load KVM;
    // gnr-b03 fails the same check on a v19-series kernel and only loses TDX.
    expect(summary.kvmLoadFailingHosts).toBe(3);
    expect(summary.tdxDisabledByReason.find((r) => r.reason === 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS')).toEqual({
      reason: 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS',
      hosts: 2,
      kvmLoadFailingHosts: 1,
    });
    // srf-b01 has TDX but no recorded memory.
    expect(summary.unknownMemoryHosts).toBe(1);
  });

  it.runIf(databaseKind === 'postgres')('runs on connections with JIT off, and its work_mem lasts for its own statement only', async () => {
    // One connection, so the summary and the checks after it share a session.
    const one = connectDatabase(db.url, { max: 1 });
    try {
      const setting = async (name: string): Promise<string> => (await one.pool.query<{ v: string }>(`SELECT current_setting('${name}') AS v`)).rows[0]!.v;
      expect(await setting('jit')).toBe('off');
      const workMem = await setting('work_mem');
      const summary = await fleetSummary(one);
      expect(summary.hosts).toBeGreaterThan(0);
      expect(await setting('work_mem')).toBe(workMem);
      expect(workMem).not.toBe('64MB');
    } finally {
      await one.close();
    }
  });
});
