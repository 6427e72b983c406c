// The fleet summary: R1 v2/R3/R4b/R5/R7 aggregates over every host, by module, platform and kernel. At
// fleet scale (100,000 hosts) this is one SQL statement over the capacity views, grouped with
// GROUPING SETS: one round trip. Its arithmetic re-expresses hostCapacity() of
// src/capacity/rules.ts; test/capacity/fleet-summary-agreement.test.ts checks both agree.
import type { CapacityTotals } from '../capacity/rules.js';
import type { Database } from '../db/client.js';
import { LARGEST_ACCEPTED_TD_VCPUS_SQL } from './rules-sql.js';

export interface SummaryTotals extends Pick<CapacityTotals, 'tdxEnabledHosts' | 'tdSlots' | 'freeVcpus'> {
  hosts: number;
  /** The largest new TD that fits somewhere (R5): max over enabled hosts with a free KeyID of min(cap, free vCPUs). */
  largestPlaceableTdVcpus: number | null;
  /** R1 v2: hosts whose kvm_intel fails to load. */
  kvmLoadFailingHosts: number;
  /** R4b, R7: hosts whose placed TDs exceed their KeyIDs, schedulable vCPUs or memory for TDs. */
  overFullHosts: number;
  /** R7, summed over TDX-enabled hosts whose memory is known (MiB). */
  tdMemoryMiB: number;
  allocatedMemoryMiB: number;
  freeMemoryMiB: number;
  excessMemoryMiB: number;
  /** TDX-enabled hosts whose memory is unknown (not in the memory sums). */
  unknownMemoryHosts: number;
  /** kvmLoadFailingHosts: of these hosts, those where the reason fails kvm_intel's load (effect KVM_LOAD_FAILS). */
  tdxDisabledByReason: { reason: string; hosts: number; kvmLoadFailingHosts: number }[];
  kvmCapDistribution: { kvmCapMaxVcpus: number; hosts: number }[];
}

export interface GroupTotals extends SummaryTotals {
  /** Module version, platform name or kernel name; null for hosts with no module. */
  key: string | null;
}

export interface FleetSummary extends SummaryTotals {
  byModule: GroupTotals[];
  byPlatform: GroupTotals[];
  byKernel: GroupTotals[];
}

type Dimension = 'all' | 'module' | 'platform' | 'kernel';

interface Row {
  dim: Dimension;
  key: string | null;
  kind: 'totals' | 'reason' | 'cap';
  hosts: number;
  enabled: number;
  slots: number;
  free_vcpus: number;
  largest: number | null;
  kvm_failing: number;
  over_full: number;
  td_memory: number;
  allocated_memory: number;
  free_memory: number;
  excess_memory: number;
  unknown_memory: number;
  reason: string | null;
  cap: number | null;
}

// GROUPING(...) tells which grouping set a row belongs to: 0 marks the columns grouped on.
const DIMENSION = `CASE WHEN GROUPING(module_version, platform_name, kernel_name) = 7 THEN 'all'
  WHEN GROUPING(module_version) = 0 THEN 'module' WHEN GROUPING(platform_name) = 0 THEN 'platform' ELSE 'kernel' END`;
const KEY = `CASE WHEN GROUPING(module_version) = 0 THEN module_version WHEN GROUPING(platform_name) = 0 THEN platform_name
  WHEN GROUPING(kernel_name) = 0 THEN kernel_name END`;
function groupingSets(extra?: string): string {
  const e = extra ? `, ${extra}` : '';
  return `GROUPING SETS ((${extra ?? ''}), (module_version${e}), (platform_name${e}), (kernel_name${e}))`;
}

// Two levels, so that R1 v2 and R3 run once per combination of the facts they read, not once per host:
// 1. one pass over host_resources (each host's R4b and R7 figures, no rule of R1) groups the hosts by
//    those facts (module, platform, kernel, kvm_intel_tdx, guest KeyIDs, present CPUs: a few hundred
//    combinations for 100,000 hosts), summing each figure that counts only where TDX is enabled;
// 2. tdx_host_status(), the same function the host_capacity view calls per host, gives each combination
//    its status, reasons and cap, and decides which of those sums count.
// Grouping by ids and naming the groups afterwards keeps the pass over the hosts cheap.
const SUMMARY_SQL = `
WITH resources AS MATERIALIZED (
  SELECT r.module_id, r.platform_id, r.kernel_id, r.kvm_intel_tdx, r.guest_key_ids, r.present_cpus,
         count(*) AS hosts,
         sum(GREATEST(0, r.free_key_ids)) AS sum_free_key_ids,
         sum(GREATEST(0, r.free_vcpus)) AS sum_free_vcpus,
         -- For the largest TD: it is monotone in free vCPUs, so the combination's largest is that of
         -- the most free vCPUs among its hosts with a free KeyID.
         max(r.free_key_ids) AS max_free_key_ids,
         max(r.free_vcpus) FILTER (WHERE r.free_key_ids > 0) AS max_free_vcpus_with_key_id,
         -- Over-full (R4b, R7): the memory counts only where TDX is enabled, hence both counts.
         count(*) FILTER (WHERE r.excess_key_ids > 0 OR r.excess_vcpus > 0) AS over_full_by_key_ids_or_vcpus,
         count(*) FILTER (WHERE r.excess_key_ids > 0 OR r.excess_vcpus > 0 OR r.excess_memory_mib > 0) AS over_full_if_enabled,
         -- R7 figures are null where the memory is unknown: sums skip them. (sum of int is bigint, kept
         -- in an int8 accumulator; sum of bigint would add in numeric, several times slower.)
         sum(r.td_memory_mib) AS td_memory,
         sum(r.allocated_memory_mib) AS allocated_memory,
         sum(r.free_memory_mib) AS free_memory,
         sum(r.excess_memory_mib) AS excess_memory,
         count(*) FILTER (WHERE r.td_memory_mib IS NULL) AS unknown_memory
  FROM host_resources r
  GROUP BY r.module_id, r.platform_id, r.kernel_id, r.kvm_intel_tdx, r.guest_key_ids, r.present_cpus
),
combo AS MATERIALIZED (
  SELECT c.*, ${LARGEST_ACCEPTED_TD_VCPUS_SQL} AS largest
  FROM (
    SELECT res.*, st.tdx_enabled, st.tdx_disabled_reasons, st.kvm_loads, st.kvm_cap_max_vcpus,
           -- What LARGEST_ACCEPTED_TD_VCPUS_SQL reads of a host, for the combination's best host.
           res.max_free_key_ids AS free_key_ids, res.max_free_vcpus_with_key_id AS free_vcpus
    FROM resources res
    JOIN kernel k ON k.id = res.kernel_id
    LEFT JOIN tdx_module_features m ON m.id = res.module_id
    LEFT JOIN module_platform mp ON mp.module_id = res.module_id AND mp.platform_id = res.platform_id
    CROSS JOIN LATERAL tdx_host_status(res.kvm_intel_tdx, m.id IS NOT NULL, mp.module_id IS NOT NULL, res.guest_key_ids,
      res.present_cpus, k.module_metadata, k.tdx_vcpu_policy, k.tdx_init_failure, k.kvm_max_vcpus,
      m.no_rbp_mod, m.topology_enum, m.max_vcpus_per_td) st
  ) c
),
h AS MATERIALIZED (
  SELECT m.version AS module_version, p.name AS platform_name, k.name AS kernel_name, combo.*
  FROM combo
  JOIN platform p ON p.id = combo.platform_id
  JOIN kernel k ON k.id = combo.kernel_id
  LEFT JOIN tdx_module m ON m.id = combo.module_id
)
SELECT ${DIMENSION} AS dim, ${KEY} AS key, 'totals' AS kind,
       sum(hosts)::int AS hosts,
       COALESCE(sum(hosts) FILTER (WHERE tdx_enabled), 0)::int AS enabled,
       COALESCE(sum(sum_free_key_ids) FILTER (WHERE tdx_enabled), 0)::int AS slots,
       COALESCE(sum(sum_free_vcpus) FILTER (WHERE tdx_enabled), 0)::int AS free_vcpus,
       NULLIF(max(largest) FILTER (WHERE tdx_enabled), 0)::int AS largest,
       COALESCE(sum(hosts) FILTER (WHERE NOT kvm_loads), 0)::int AS kvm_failing,
       sum(CASE WHEN tdx_enabled THEN over_full_if_enabled ELSE over_full_by_key_ids_or_vcpus END)::int AS over_full,
       -- float8: fleet sums of MiB outgrow int4 (and bigint arrives as a string); exact below 2^53.
       COALESCE(sum(td_memory) FILTER (WHERE tdx_enabled), 0)::float8 AS td_memory,
       COALESCE(sum(allocated_memory) FILTER (WHERE tdx_enabled), 0)::float8 AS allocated_memory,
       COALESCE(sum(free_memory) FILTER (WHERE tdx_enabled), 0)::float8 AS free_memory,
       COALESCE(sum(excess_memory) FILTER (WHERE tdx_enabled), 0)::float8 AS excess_memory,
       COALESCE(sum(unknown_memory) FILTER (WHERE tdx_enabled), 0)::int AS unknown_memory,
       NULL::text AS reason, NULL::int AS cap
FROM h GROUP BY ${groupingSets()}
UNION ALL
-- A host whose KVM fails to load has only stage 1 reasons, each with effect KVM_LOAD_FAILS (R1 v2).
SELECT ${DIMENSION}, ${KEY}, 'reason', sum(hosts)::int, 0, 0, 0, NULL,
       COALESCE(sum(hosts) FILTER (WHERE NOT kvm_loads), 0)::int, 0, 0, 0, 0, 0, 0, reason, NULL
FROM h, unnest(tdx_disabled_reasons) AS reason GROUP BY ${groupingSets('reason')}
UNION ALL
SELECT ${DIMENSION}, ${KEY}, 'cap', sum(hosts)::int, 0, 0, 0, NULL, 0, 0, 0, 0, 0, 0, 0, NULL, kvm_cap_max_vcpus
FROM h WHERE kvm_cap_max_vcpus IS NOT NULL GROUP BY ${groupingSets('kvm_cap_max_vcpus')}
`;

/** Groups in code-point order of their key; the group of hosts with no module (key null) first. */
export function byGroupKey(a: { key: string | null }, b: { key: string | null }): number {
  if (a.key === b.key) return 0;
  if (a.key === null) return -1;
  if (b.key === null) return 1;
  return a.key < b.key ? -1 : 1;
}

function emptyTotals(): SummaryTotals {
  return {
    hosts: 0,
    tdxEnabledHosts: 0,
    tdSlots: 0,
    freeVcpus: 0,
    largestPlaceableTdVcpus: null,
    kvmLoadFailingHosts: 0,
    overFullHosts: 0,
    tdMemoryMiB: 0,
    allocatedMemoryMiB: 0,
    freeMemoryMiB: 0,
    excessMemoryMiB: 0,
    unknownMemoryHosts: 0,
    tdxDisabledByReason: [],
    kvmCapDistribution: [],
  };
}

// PostgreSQL cannot estimate how few combinations there are (it guesses one per host), so with the
// default work_mem it sorts 100,000 rows on disk to group them; a hash of the real few hundred
// groups takes a few MB. SET LOCAL lasts for this one statement: a query string of several statements
// runs as one implicit transaction (one round trip; an error rolls it all back).
const SUMMARY_STATEMENTS = `SET LOCAL work_mem = '64MB';\n${SUMMARY_SQL}`;

export async function fleetSummary(db: Database): Promise<FleetSummary> {
  const results = (await db.pool.query(SUMMARY_STATEMENTS)) as unknown as [unknown, { rows: Row[] }];
  const { rows } = results[1];
  const groups: Record<Exclude<Dimension, 'all'>, Map<string | null, GroupTotals>> = { module: new Map(), platform: new Map(), kernel: new Map() };
  const all = emptyTotals();
  const totalsFor = (row: Row): SummaryTotals => {
    if (row.dim === 'all') return all;
    const map = groups[row.dim];
    let g = map.get(row.key);
    if (!g) map.set(row.key, (g = { key: row.key, ...emptyTotals() }));
    return g;
  };
  for (const row of rows) {
    const t = totalsFor(row);
    if (row.kind === 'totals') {
      Object.assign(t, {
        hosts: row.hosts,
        tdxEnabledHosts: row.enabled,
        tdSlots: row.slots,
        freeVcpus: row.free_vcpus,
        largestPlaceableTdVcpus: row.largest,
        kvmLoadFailingHosts: row.kvm_failing,
        overFullHosts: row.over_full,
        tdMemoryMiB: row.td_memory,
        allocatedMemoryMiB: row.allocated_memory,
        freeMemoryMiB: row.free_memory,
        excessMemoryMiB: row.excess_memory,
        unknownMemoryHosts: row.unknown_memory,
      });
    } else if (row.kind === 'reason') {
      t.tdxDisabledByReason.push({ reason: row.reason!, hosts: row.hosts, kvmLoadFailingHosts: row.kvm_failing });
    } else {
      t.kvmCapDistribution.push({ kvmCapMaxVcpus: row.cap!, hosts: row.hosts });
    }
  }
  const ordered = (m: Map<string | null, GroupTotals>): GroupTotals[] => [...m.values()].map(sortLists).sort(byGroupKey);
  return { ...sortLists(all), byModule: ordered(groups.module), byPlatform: ordered(groups.platform), byKernel: ordered(groups.kernel) };
}

function sortLists<T extends SummaryTotals>(t: T): T {
  t.tdxDisabledByReason.sort((a, b) => (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
  t.kvmCapDistribution.sort((a, b) => a.kvmCapMaxVcpus - b.kvmCapMaxVcpus);
  return t;
}
