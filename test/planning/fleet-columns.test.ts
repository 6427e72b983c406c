// The fleet as columns (what whatIf reads, src/planning/fleet-facts.ts) holds exactly the facts
// the per-host rows hold, and its text format parses every value as node-postgres would.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostColumnsOf, inSnapshot, loadFleetColumns, loadFleetFacts } from '../../src/planning/fleet-facts.js';
import { importDocument } from '../support/import.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { fleetWithTdsArb } from '../support/random-fleet.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.destroy();
});

describe('fleet columns', () => {
  it('equal the fleet facts host by host on random fleets (unknown memory, no module, ratios, usage)', async () => {
    await fc.assert(
      fc.asyncProperty(fleetWithTdsArb, fc.constantFrom(1, 1.15, 1.5, 0.3333333333333333), async (doc, ratio) => {
        const withRatio = { ...doc, hosts: doc.hosts.map((h, i) => (i % 2 ? { ...h, allocationRatio: ratio } : h)) };
        expect(await importDocument(db, withRatio, 'REPLACE')).toMatchObject({ ok: true });
        const facts = await loadFleetFacts(db);
        const { hosts: c } = await inSnapshot(db, loadFleetColumns);
        expect(c.count).toBe(facts.hosts.length);
        facts.hosts.forEach((h, i) => {
          expect({
            id: c.id[i],
            platformId: c.platformId[i],
            moduleId: c.moduleId[i] === -1 ? null : c.moduleId[i],
            kernelId: c.kernelId[i],
            presentCpus: c.presentCpus[i],
            guestKeyIds: c.guestKeyIds[i],
            allocationRatio: c.allocationRatio[i],
            kvmIntelTdx: c.kvmIntelTdx[i] === 1,
            memoryMiB: Number.isNaN(c.memoryMiB[i]) ? null : c.memoryMiB[i],
            reservedMemoryMiB: c.reservedMemoryMiB[i],
            usage: {
              tdCount: c.tdCount[i],
              allocatedVcpus: c.allocatedVcpus[i],
              knownMemoryTdCount: c.knownMemoryTdCount[i],
              knownMemoryTdVcpus: c.knownMemoryTdVcpus[i],
              knownMemoryTdMiB: c.knownMemoryTdMiB[i],
            },
          }).toEqual({ ...h, hostname: undefined });
        });
      }),
      { numRuns: 15, seed: 20261127 },
    );
  }, 120_000);

  it('parses the text of no host, and ratios in any float8 spelling', () => {
    expect(hostColumnsOf('').count).toBe(0);
    const c = hostColumnsOf('7,1,-1,2,64,16,1e-05,1,-1,0,3,12,2,8,4096;9,1,3,2,8,0,1.15,0,2048,256,0,0,0,0,0');
    expect([...c.id]).toEqual([7, 9]);
    expect([...c.moduleId]).toEqual([-1, 3]);
    expect([...c.allocationRatio]).toEqual([1e-5, 1.15]);
    expect([...c.memoryMiB]).toEqual([NaN, 2048]);
    expect([...c.knownMemoryTdMiB]).toEqual([4096, 0]);
    expect(() => hostColumnsOf('7,1,-1,2,64,16,1,1,-1,0,3,12,2,8')).toThrow(/14 values, expected 15/);
  });
});
