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
    // packing never overfills a host, memory included (R7)
    expect(capacities.every((c, i) => c.allocatedVcpus <= c.schedulableVcpus && c.usedKeyIds <= doc.hosts[i]!.guestKeyIds)).toBe(true);
    expect(capacities.every((c) => (c.excessMemoryMiB ?? 0) === 0)).toBe(true);
  });

  it('carry realistic revision-2 data: hosts whose KVM would not load, kvm_intel.tdx=0, unknown memory, hosts short of memory', () => {
    const doc = generateFleet({ hosts: 2000, tds: 20000, seed: 3 });
    const facts = factsOf(doc);
    const usage = usageOf(doc);
    const capacities = doc.hosts.map((h) => hostCapacity(facts.get(h.hostname)!, usage.get(h.hostname)!));
    const codes = capacities.flatMap((c) => c.tdxDisabledReasons.map((r) => `${r.code}/${r.effect}`));
    // R1 v2: old modules (no NO_RBP_MOD, no MAX_VCPUS_PER_TD) and 688-CPU hosts on mainline kernels take KVM down;
    // the same on the v19-series kernels only disables TDX.
    expect(capacities.some((c) => !c.kvmLoads)).toBe(true);
    expect(codes).toEqual(
      expect.arrayContaining([
        'NO_RBP_MOD/KVM_LOAD_FAILS',
        'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS/KVM_LOAD_FAILS',
        'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS/TDX_DISABLED',
        'TDX_NOT_REQUESTED/TDX_DISABLED',
      ]),
    );
    expect(doc.modules.some((m) => !m.features.includes('NO_RBP_MOD')) && doc.modules.some((m) => m.features.includes('NO_RBP_MOD'))).toBe(true);
    expect(doc.modules.some((m) => m.maxVcpusPerTd === null)).toBe(true);
    expect(new Set(doc.kernels.map((k) => k.tdxInitFailure))).toEqual(new Set(['FAIL_KVM_LOAD', 'DISABLE_TDX']));
    // R7: memory on most hosts and TDs, unknown on a few; some TDX hosts short of memory for a 64 GiB TD yet with vCPUs and a KeyID free.
    expect(doc.hosts.some((h) => h.memoryMiB === null) && doc.hosts.filter((h) => h.memoryMiB !== null).length / doc.hosts.length > 0.9).toBe(true);
    expect(doc.tds.some((t) => t.memoryMiB === null) && doc.tds.some((t) => t.memoryMiB !== null)).toBe(true);
    const shortOfMemory = doc.hosts.filter((h, i) => {
      const c = capacities[i]!;
      return c.tdxEnabled && c.freeKeyIds > 0 && c.freeVcpus >= 8 && c.freeMemoryMiB !== null && c.freeMemoryMiB < 65536;
    });
    expect(shortOfMemory.length).toBeGreaterThan(0);
  });
});
