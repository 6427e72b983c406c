import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostCapacity } from '../../src/capacity/rules.js';
import { normalizeInventoryDocument } from '../../src/inventory/document.js';
import { exportInventory } from '../../src/inventory/export.js';
import { generateFleet } from '../../src/inventory/generate.js';
import { importDocument } from '../support/import.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { factsOf, usageOf } from '../support/random-fleet.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.destroy();
});

describe('generated fleets', () => {
  it('are deterministic: the same seed gives the same fleet, another seed another', () => {
    const a = generateFleet({ hosts: 200, tds: 1500, seed: 7 });
    expect(generateFleet({ hosts: 200, tds: 1500, seed: 7 })).toEqual(a);
    expect(generateFleet({ hosts: 200, tds: 1500, seed: 8 })).not.toEqual(a);
  });

  it('are valid, import whole, and are realistic: mostly TDX-enabled, partly full hosts, some misconfigured, some planned TDs', async () => {
    const doc = generateFleet({ hosts: 500, tds: 4000, seed: 1 });
    expect(await importDocument(db, doc, 'REPLACE')).toMatchObject({ ok: true, counts: { hosts: { created: 500 }, tds: { created: 4000 } } });
    expect(await exportInventory(db)).toEqual(normalizeInventoryDocument(doc));
    const facts = factsOf(doc);
    const usage = usageOf(doc);
    const capacities = doc.hosts.map((h) => hostCapacity(facts.get(h.hostname)!, usage.get(h.hostname)!));
    const enabled = capacities.filter((c) => c.tdxEnabled).length;
    expect(enabled / doc.hosts.length).toBeGreaterThan(0.6);
    expect(capacities.some((c) => !c.tdxEnabled)).toBe(true);
    expect(capacities.some((c) => c.allocatedVcpus > 0 && c.freeVcpus > 0)).toBe(true);
    expect(doc.tds.some((t) => t.host === null)).toBe(true);
    // packing never overfills a host
    expect(capacities.every((c, i) => c.allocatedVcpus <= c.schedulableVcpus && c.usedKeyIds <= doc.hosts[i]!.guestKeyIds)).toBe(true);
  });
});
