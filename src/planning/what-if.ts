// N2 what-if: the impact of proposed changes, computed without writing anything. The fleet's
// facts are loaded once (src/planning/fleet-facts.ts), the changes applied to an in-memory copy,
// and both fleets evaluated with the same pure rules as the live answers (hostCapacity,
// fitsWhereItRuns, tdFitBlockers' conditions). Only the TDs that matter are read from SQL.
import {
  capacityTotals,
  fitsWhereItRuns,
  hostCapacity,
  largestAcceptedTdVcpus,
  migrationVersionsOverlap,
  type CapacityTotals,
  type HostCapacity,
  type TdxVcpuPolicy,
} from '../capacity/rules.js';
import type { Database } from '../db/client.js';
import { factsOfHost, loadFleetFacts, type FleetFacts, type HostRecord } from './fleet-facts.js';

export interface WhatIfChanges {
  /** A module's MAX_VCPUS_PER_TD (null: the module stops reporting it, R2). */
  modules: { moduleId: number; maxVcpusPerTd: number | null }[];
  kernels: { kernelId: number; tdxVcpuPolicy?: TdxVcpuPolicy | undefined; kvmMaxVcpus?: number | undefined }[];
  /** Hosts moved to another module (null: unloaded) and/or kernel. */
  hostMoves: { hostIds: number[]; moduleId?: number | null | undefined; kernelId?: number | undefined }[];
  hosts: { hostId: number; presentCpus: number }[];
}

export interface HostImpact {
  host: HostRecord;
  before: HostCapacity;
  after: HostCapacity;
}

export interface TdImpact {
  id: number;
  name: string;
  vcpus: number;
  hostname: string;
  capBefore: number | null;
  capAfter: number | null;
}

export interface WhatIfResult {
  hostsLosingTdx: HostImpact[];
  hostsGainingTdx: HostImpact[];
  /** TDX enabled before and after, with another effective cap. */
  hostsWithNewCap: HostImpact[];
  /** Placed TDs that fit where they run now and would not after (R5, last sentence). */
  tdsNoLongerFitting: TdImpact[];
  tdsLeftWithoutMigrationTarget: { count: number; page(first: number, offset: number): Promise<TdImpact[]> };
  capacityBefore: CapacityTotals;
  capacityAfter: CapacityTotals;
}

function applyChanges(fleet: FleetFacts, changes: WhatIfChanges): FleetFacts {
  const modules = new Map([...fleet.modules].map(([id, m]) => [id, { ...m }]));
  const kernels = new Map([...fleet.kernels].map(([id, k]) => [id, { ...k }]));
  for (const c of changes.modules) modules.get(c.moduleId)!.maxVcpusPerTd = c.maxVcpusPerTd;
  for (const c of changes.kernels) {
    const k = kernels.get(c.kernelId)!;
    if (c.tdxVcpuPolicy !== undefined) k.tdxVcpuPolicy = c.tdxVcpuPolicy;
    if (c.kvmMaxVcpus !== undefined) k.kvmMaxVcpus = c.kvmMaxVcpus;
  }
  const moved = new Map<number, { moduleId?: number | null | undefined; kernelId?: number | undefined }>();
  for (const move of changes.hostMoves) for (const id of move.hostIds) moved.set(id, { ...moved.get(id), ...move });
  const cpus = new Map(changes.hosts.map((h) => [h.hostId, h.presentCpus]));
  const hosts = fleet.hosts.map((h) => {
    const move = moved.get(h.id);
    const presentCpus = cpus.get(h.id);
    if (!move && presentCpus === undefined) return h;
    return {
      ...h,
      moduleId: move?.moduleId !== undefined ? move.moduleId : h.moduleId,
      kernelId: move?.kernelId ?? h.kernelId,
      presentCpus: presentCpus ?? h.presentCpus,
    };
  });
  return { modules, kernels, hosts };
}

// ---- migration targets (R6) at fleet scale ------------------------------------------------
// A host accepts a new TD of v vCPUs (R5) iff v <= largestAcceptedTdVcpus (its threshold). A TD on
// host X of module S has a migration target iff some other host with threshold >= v runs a module
// whose import range overlaps S's export range (R6).

interface TargetIndex {
  /** Thresholds of the hosts that can import from the source module, descending. */
  thresholds: number[];
}

function targetIndexes(fleet: FleetFacts, capacities: Map<number, HostCapacity>): Map<number, TargetIndex> {
  const indexes = new Map<number, TargetIndex>();
  for (const source of fleet.modules.values()) {
    if (!source.migration) continue;
    const thresholds: number[] = [];
    for (const h of fleet.hosts) {
      const target = h.moduleId === null ? null : fleet.modules.get(h.moduleId);
      if (target?.migration && migrationVersionsOverlap(source.migration, target.migration)) thresholds.push(largestAcceptedTdVcpus(capacities.get(h.id)!));
    }
    thresholds.sort((a, b) => b - a);
    indexes.set(source.id, { thresholds });
  }
  return indexes;
}

/** How many thresholds are >= v (binary search over a descending array). */
function countAtLeast(thresholds: number[], v: number): number {
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (thresholds[mid]! >= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function hasTarget(fleet: FleetFacts, indexes: Map<number, TargetIndex>, capacities: Map<number, HostCapacity>, host: HostRecord, vcpus: number): boolean {
  const source = host.moduleId === null ? null : fleet.modules.get(host.moduleId);
  if (!source?.migration) return false;
  const index = indexes.get(source.id)!;
  let n = countAtLeast(index.thresholds, vcpus);
  // The TD's own host is never a target (SAME_HOST); it is in the index if it imports from itself.
  if (migrationVersionsOverlap(source.migration, source.migration) && largestAcceptedTdVcpus(capacities.get(host.id)!) >= vcpus) n -= 1;
  return n > 0;
}

/**
 * A size at or under which no TD can be left without a migration target, or null when none can.
 * After the change, a TD of v vCPUs on a host whose module has an import index keeps a target when
 * at least two hosts in that index accept v (one of them may be its own host): v <= the index's
 * second-largest threshold. A host whose module (after) has no migration support strands all its
 * TDs, but only if it had targets before, that is if its module before had migration support.
 * hasTarget() still decides every group read; this only narrows what is read.
 */
function strandingBound(before: FleetFacts, after: FleetFacts, indexesAfter: Map<number, TargetIndex>): number | null {
  let bound: number | null = null;
  const lower = (v: number): void => {
    bound = bound === null ? v : Math.min(bound, v);
  };
  for (let i = 0; i < after.hosts.length; i++) {
    const h = after.hosts[i]!;
    const moduleAfter = h.moduleId === null ? null : after.modules.get(h.moduleId);
    const beforeHost = before.hosts[i]!;
    const moduleBefore = beforeHost.moduleId === null ? null : before.modules.get(beforeHost.moduleId);
    if (!moduleBefore?.migration) continue; // no target before: nothing to lose
    if (!moduleAfter?.migration) lower(0);
    else lower(indexesAfter.get(moduleAfter.id)!.thresholds[1] ?? 0);
  }
  return bound;
}

export async function whatIf(db: Database, changes: WhatIfChanges): Promise<WhatIfResult> {
  const before = await loadFleetFacts(db);
  const after = applyChanges(before, changes);
  const capBefore = new Map(before.hosts.map((h) => [h.id, hostCapacity(factsOfHost(before, h), h.usage)]));
  const capAfter = new Map(after.hosts.map((h) => [h.id, hostCapacity(factsOfHost(after, h), h.usage)]));
  const hostsLosingTdx: HostImpact[] = [];
  const hostsGainingTdx: HostImpact[] = [];
  const hostsWithNewCap: HostImpact[] = [];
  for (const h of after.hosts) {
    const b = capBefore.get(h.id)!;
    const a = capAfter.get(h.id)!;
    const impact = { host: h, before: b, after: a };
    if (b.tdxEnabled && !a.tdxEnabled) hostsLosingTdx.push(impact);
    else if (!b.tdxEnabled && a.tdxEnabled) hostsGainingTdx.push(impact);
    else if (a.tdxEnabled && a.kvmCapMaxVcpus !== b.kvmCapMaxVcpus) hostsWithNewCap.push(impact);
  }

  // TDs that fit where they run and would not: only hosts whose cap went down or disappeared.
  const shrunk = after.hosts.filter((h) => {
    const b = capBefore.get(h.id)!.kvmCapMaxVcpus;
    const a = capAfter.get(h.id)!.kvmCapMaxVcpus;
    return b !== null && (a === null || a < b);
  });
  const broken = shrunk.length
    ? await db.pool.query<{ id: number; name: string; vcpus: number; host_id: number; hostname: string }>(
        `SELECT t.id, t.name, t.vcpus, t.host_id, h.hostname
         FROM unnest($1::int[], $2::int[], $3::int[]) AS s(host_id, cap_before, cap_after)
         JOIN td t ON t.host_id = s.host_id JOIN host h ON h.id = s.host_id
         WHERE t.vcpus <= s.cap_before AND (s.cap_after IS NULL OR t.vcpus > s.cap_after)
         ORDER BY t.id`,
        [shrunk.map((h) => h.id), shrunk.map((h) => capBefore.get(h.id)!.kvmCapMaxVcpus), shrunk.map((h) => capAfter.get(h.id)!.kvmCapMaxVcpus)],
      )
    : { rows: [] };
  const beforeById = new Map(before.hosts.map((h) => [h.id, h]));
  const afterById = new Map(after.hosts.map((h) => [h.id, h]));
  const tdsNoLongerFitting = broken.rows
    // the rules have the last word: the SQL above only narrows the rows down
    .filter(
      (t) =>
        fitsWhereItRuns(factsOfHost(before, beforeById.get(t.host_id)!), t.vcpus) && !fitsWhereItRuns(factsOfHost(after, afterById.get(t.host_id)!), t.vcpus),
    )
    .map((t) => ({
      id: t.id,
      name: t.name,
      vcpus: t.vcpus,
      hostname: t.hostname,
      capBefore: capBefore.get(t.host_id)!.kvmCapMaxVcpus,
      capAfter: capAfter.get(t.host_id)!.kvmCapMaxVcpus,
    }));

  // Migratable placed TDs, grouped by host and size: a group loses its targets as a whole. Only
  // TDs larger than strandingBound() can lose them, so the rest are not even read.
  const indexesBefore = targetIndexes(before, capBefore);
  const indexesAfter = targetIndexes(after, capAfter);
  const bound = strandingBound(before, after, indexesAfter);
  const groups =
    bound === null
      ? { rows: [] }
      : await db.pool.query<{ host_id: number; vcpus: number; n: number }>(
          'SELECT host_id, vcpus, count(*)::int AS n FROM td WHERE migratable AND host_id IS NOT NULL AND vcpus > $1 GROUP BY host_id, vcpus',
          [bound],
        );
  const stranded = groups.rows.filter(
    (g) =>
      hasTarget(before, indexesBefore, capBefore, beforeById.get(g.host_id)!, g.vcpus) &&
      !hasTarget(after, indexesAfter, capAfter, afterById.get(g.host_id)!, g.vcpus),
  );
  const strandedCount = stranded.reduce((n, g) => n + g.n, 0);

  return {
    hostsLosingTdx,
    hostsGainingTdx,
    hostsWithNewCap,
    tdsNoLongerFitting,
    tdsLeftWithoutMigrationTarget: {
      count: strandedCount,
      async page(first, offset) {
        if (strandedCount === 0 || first === 0) return [];
        const { rows } = await db.pool.query<{ id: number; name: string; vcpus: number; host_id: number; hostname: string }>(
          `SELECT t.id, t.name, t.vcpus, t.host_id, h.hostname
           FROM unnest($1::int[], $2::int[]) AS g(host_id, vcpus)
           JOIN td t ON t.host_id = g.host_id AND t.vcpus = g.vcpus AND t.migratable
           JOIN host h ON h.id = t.host_id
           ORDER BY t.id LIMIT $3 OFFSET $4`,
          [stranded.map((g) => g.host_id), stranded.map((g) => g.vcpus), first, offset],
        );
        return rows.map((t) => ({
          id: t.id,
          name: t.name,
          vcpus: t.vcpus,
          hostname: t.hostname,
          capBefore: capBefore.get(t.host_id)!.kvmCapMaxVcpus,
          capAfter: capAfter.get(t.host_id)!.kvmCapMaxVcpus,
        }));
      },
    },
    capacityBefore: capacityTotals(capBefore.values()),
    capacityAfter: capacityTotals(capAfter.values()),
  };
}
