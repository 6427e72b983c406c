// The SQL that re-expresses R1 v2, R3, R4b and R7 (the host_capacity and host_tdx_status views
// behind the host filters and candidates) must agree with the pure rules on every host of random
// fleets, effects and memory included, and so must the GraphQL filters.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostCapacity } from '../../src/capacity/rules.js';
import { importDocument } from '../support/import.js';
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

describe('SQL capacity view agrees with the pure rules', () => {
  it('R1 v2/R3/R4b/R7: host_capacity and host_tdx_status equal hostCapacity on every host (reasons, KVM loading, excess, memory)', async () => {
    await fc.assert(
      fc.asyncProperty(fleetWithTdsArb, async (doc) => {
        expect(await importDocument(db, doc, 'REPLACE')).toMatchObject({ ok: true });
        const { rows } = await db.pool.query<{
          hostname: string;
          tdx_enabled: boolean;
          tdx_disabled_reasons: string[];
          kvm_cap_max_vcpus: number | null;
          kvm_loads: boolean;
          over_full: boolean;
          schedulable_vcpus: number;
          excess_key_ids: number;
          excess_vcpus: number;
          pamt_mib: number | null;
          td_memory_mib: number | null;
          allocated_memory_mib: number | null;
          free_memory_mib: number | null;
          excess_memory_mib: number | null;
        }>(
          `SELECT h.hostname, s.tdx_enabled, s.tdx_disabled_reasons, s.kvm_cap_max_vcpus, s.kvm_loads, s.over_full, c.schedulable_vcpus,
                  c.excess_key_ids, c.excess_vcpus, c.pamt_mib, c.td_memory_mib, c.allocated_memory_mib, c.free_memory_mib, c.excess_memory_mib
           FROM host_tdx_status s JOIN host h ON h.id = s.host_id JOIN host_capacity c ON c.host_id = h.id`,
        );
        expect(rows).toHaveLength(doc.hosts.length);
        const facts = factsOf(doc);
        const usage = usageOf(doc);
        for (const row of rows) {
          const expected = hostCapacity(facts.get(row.hostname)!, usage.get(row.hostname)!);
          // tdx_enabled and kvm_loads are conjunctions of their own (for the planner's estimates): they must agree with the reasons too.
          expect({ host: row.hostname, ...row }).toEqual({
            host: row.hostname,
            hostname: row.hostname,
            tdx_enabled: expected.tdxEnabled,
            tdx_disabled_reasons: expected.tdxDisabledReasons.map((r) => r.code),
            kvm_cap_max_vcpus: expected.kvmCapMaxVcpus,
            kvm_loads: expected.kvmLoads,
            over_full: expected.excessKeyIds > 0 || expected.excessVcpus > 0 || (expected.excessMemoryMiB ?? 0) > 0,
            schedulable_vcpus: expected.schedulableVcpus,
            excess_key_ids: expected.excessKeyIds,
            excess_vcpus: expected.excessVcpus,
            pamt_mib: expected.pamtMiB,
            td_memory_mib: expected.tdMemoryMiB,
            allocated_memory_mib: expected.allocatedMemoryMiB,
            free_memory_mib: expected.freeMemoryMiB,
            excess_memory_mib: expected.excessMemoryMiB,
          });
        }
      }),
      { numRuns: 40 },
    );
  });

  it('R1 v2/R3/R4b: the GraphQL host filters select exactly the hosts the pure rules select', async () => {
    await fc.assert(
      fc.asyncProperty(fleetWithTdsArb, fc.constantFrom(1, 256, 576, 1024), async (doc, minCap) => {
        expect(await importDocument(db, doc, 'REPLACE')).toMatchObject({ ok: true });
        const usage = usageOf(doc);
        const capacities = [...factsOf(doc)].map(([hostname, f]) => ({ hostname, ...hostCapacity(f, usage.get(hostname)!) }));
        const res = await client.gql<Record<string, { totalCount: number; edges: { node: { hostname: string } }[] }>>(
          `query($min: Int!) {
            enabled: hosts(first: 100, filter: { tdxEnabled: true }) { totalCount edges { node { hostname } } }
            disabled: hosts(first: 100, filter: { tdxEnabled: false }) { totalCount edges { node { hostname } } }
            belowPresent: hosts(first: 100, filter: { tdxDisabledReason: MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS }) { totalCount edges { node { hostname } } }
            capAtLeast: hosts(first: 100, filter: { minKvmCapMaxVcpus: $min }) { totalCount edges { node { hostname } } }
            kvmFails: hosts(first: 100, filter: { kvmLoads: false }) { totalCount edges { node { hostname } } }
            kvmLoads: hosts(first: 100, filter: { kvmLoads: true }) { totalCount edges { node { hostname } } }
            overFull: hosts(first: 100, filter: { overFull: true }) { totalCount edges { node { hostname } } }
            within: hosts(first: 100, filter: { overFull: false }) { totalCount edges { node { hostname } } }
            noRbp: hosts(first: 100, filter: { tdxDisabledReason: NO_RBP_MOD }) { totalCount edges { node { hostname } } }
          }`,
          { min: minCap },
        );
        expect(res.errors).toBeUndefined();
        const names = (key: string): string[] => res.data![key]!.edges.map((e) => e.node.hostname).sort();
        const expected = (pred: (c: (typeof capacities)[number]) => boolean): string[] =>
          capacities
            .filter(pred)
            .map((c) => c.hostname)
            .sort();
        expect(names('enabled')).toEqual(expected((c) => c.tdxEnabled));
        expect(names('disabled')).toEqual(expected((c) => !c.tdxEnabled));
        expect(names('belowPresent')).toEqual(expected((c) => c.tdxDisabledReasons.some((r) => r.code === 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS')));
        expect(names('capAtLeast')).toEqual(expected((c) => c.kvmCapMaxVcpus !== null && c.kvmCapMaxVcpus >= minCap));
        expect(res.data!.enabled!.totalCount).toBe(expected((c) => c.tdxEnabled).length);
        expect(names('kvmFails')).toEqual(expected((c) => !c.kvmLoads));
        expect(names('kvmLoads')).toEqual(expected((c) => c.kvmLoads));
        expect(res.data!.kvmFails!.totalCount).toBe(expected((c) => !c.kvmLoads).length);
        const overFull = (c: (typeof capacities)[number]): boolean => c.excessKeyIds > 0 || c.excessVcpus > 0 || (c.excessMemoryMiB ?? 0) > 0;
        expect(names('overFull')).toEqual(expected(overFull));
        expect(names('within')).toEqual(expected((c) => !overFull(c)));
        expect(names('noRbp')).toEqual(expected((c) => c.tdxDisabledReasons.some((r) => r.code === 'NO_RBP_MOD')));
      }),
      { numRuns: 25 },
    );
    // 25 fleets with TDs, each imported and filtered nine ways through HTTP: slow on an embedded database under load.
  }, 120_000);
});
