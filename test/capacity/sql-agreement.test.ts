// The SQL that re-expresses R1 and R3 (the host_tdx_status view behind the host filters) must
// agree with the pure rules on every host of random fleets, and so must the GraphQL filters.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostCapacity } from '../../src/capacity/rules.js';
import { importDocument } from '../support/import.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { factsOf, fleetArb } from '../support/random-fleet.js';
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
  it('R1/R3: host_tdx_status equals tdxDisabledReasons and kvmCapMaxVcpus on every host', async () => {
    await fc.assert(
      fc.asyncProperty(fleetArb, async (doc) => {
        expect(await importDocument(db, doc, 'REPLACE')).toMatchObject({ ok: true });
        const { rows } = await db.pool.query<{
          hostname: string;
          tdx_enabled: boolean;
          tdx_disabled_reasons: string[];
          kvm_cap_max_vcpus: number | null;
          schedulable_vcpus: number;
        }>(
          `SELECT h.hostname, s.tdx_enabled, s.tdx_disabled_reasons, s.kvm_cap_max_vcpus, c.schedulable_vcpus
           FROM host_tdx_status s JOIN host h ON h.id = s.host_id JOIN host_capacity c ON c.host_id = h.id`,
        );
        expect(rows).toHaveLength(doc.hosts.length);
        const facts = factsOf(doc);
        for (const row of rows) {
          const expected = hostCapacity(facts.get(row.hostname)!, { tdCount: 0, allocatedVcpus: 0 });
          // tdx_enabled is a conjunction of its own (for the planner's estimates): it must agree with the reasons too.
          expect({
            host: row.hostname,
            enabled: row.tdx_enabled,
            reasons: row.tdx_disabled_reasons,
            cap: row.kvm_cap_max_vcpus,
            schedulable: row.schedulable_vcpus,
          }).toEqual({
            host: row.hostname,
            enabled: expected.tdxEnabled,
            reasons: expected.tdxDisabledReasons.map((r) => r.code),
            cap: expected.kvmCapMaxVcpus,
            schedulable: expected.schedulableVcpus,
          });
        }
      }),
      { numRuns: 40 },
    );
  });

  it('R1/R3: the GraphQL host filters select exactly the hosts the pure rules select', async () => {
    await fc.assert(
      fc.asyncProperty(fleetArb, fc.constantFrom(1, 256, 576, 1024), async (doc, minCap) => {
        expect(await importDocument(db, doc, 'REPLACE')).toMatchObject({ ok: true });
        const capacities = [...factsOf(doc)].map(([hostname, f]) => ({ hostname, ...hostCapacity(f, { tdCount: 0, allocatedVcpus: 0 }) }));
        const res = await client.gql<Record<string, { totalCount: number; edges: { node: { hostname: string } }[] }>>(
          `query($min: Int!) {
            enabled: hosts(first: 100, filter: { tdxEnabled: true }) { totalCount edges { node { hostname } } }
            disabled: hosts(first: 100, filter: { tdxEnabled: false }) { totalCount edges { node { hostname } } }
            belowPresent: hosts(first: 100, filter: { tdxDisabledReason: MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS }) { totalCount edges { node { hostname } } }
            capAtLeast: hosts(first: 100, filter: { minKvmCapMaxVcpus: $min }) { totalCount edges { node { hostname } } }
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
      }),
      { numRuns: 25 },
    );
  });
});
