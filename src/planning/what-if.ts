// N2 what-if: the impact of proposed changes, computed without writing anything. The fleet's
// facts are loaded once (src/planning/fleet-facts.ts), the changes applied to an in-memory copy,
// and both fleets evaluated with the same pure rules as the live answers (hostCapacity,
// fitsWhereItRuns, tdFitBlockers' conditions). Only the TDs that matter are read from SQL.
import {
  allocatedMemoryKiB,
  capacityTotals,
  fitsWhereItRuns,
  hostCapacity,
  largestAcceptedTdVcpus,
  migrationVersionsOverlap,
  tdFootprintKiB,
  type CapacityTotals,
  type HostCapacity,
  type ModuleMetadataPolicy,
  type TdSize,
  type TdxInitFailure,
  type TdxVcpuPolicy,
} from '../capacity/rules.js';
import type { Database } from '../db/client.js';
import { factsOfHost, loadFleetFacts, type FleetFacts, type HostRecord } from './fleet-facts.js';

/** Proposed changes; an absent (undefined) field keeps its value. */
export interface WhatIfChanges {
  /** A module's MAX_VCPUS_PER_TD (null: the module stops reporting it, R2), features and control pages (R7). */
  modules: {
    moduleId: number;
    maxVcpusPerTd?: number | null | undefined;
    features?: string[] | undefined;
    tdcsPages?: number | undefined;
    tdvpsPages?: number | undefined;
  }[];
  kernels: {
    kernelId: number;
    tdxVcpuPolicy?: TdxVcpuPolicy | undefined;
    kvmMaxVcpus?: number | undefined;
    tdxInitFailure?: TdxInitFailure | undefined;
    moduleMetadata?: ModuleMetadataPolicy | undefined;
  }[];
  /** Hosts moved to another module (null: unloaded) and/or kernel. */
  hostMoves: { hostIds: number[]; moduleId?: number | null | undefined; kernelId?: number | undefined }[];
  /** A host's present CPUs, kvm_intel.tdx, memory (null: unknown) and reservation. */
  hosts: {
    hostId: number;
    presentCpus?: number | undefined;
    kvmIntelTdx?: boolean | undefined;
    memoryMiB?: number | null | undefined;
    reservedMemoryMiB?: number | undefined;
  }[];
  /** A TD's memory (null: unknown). */
  tds: { tdId: number; memoryMiB: number | null }[];
}

/** A TD whose memory the changes set, as it is now. */
interface ChangedTd {
  id: number;
  hostId: number | null;
  vcpus: number;
  migratable: boolean;
  memoryBefore: number | null;
  memoryAfter: number | null;
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
  /** R1 v2: hosts whose kvm_intel loads now and would fail to load. */
  hostsLosingKvm: HostImpact[];
  hostsGainingTdx: HostImpact[];
  /** TDX enabled before and after, with another effective cap. */
  hostsWithNewCap: HostImpact[];
  /** Placed TDs that fit where they run now and would not after (R5, last sentence). */
  tdsNoLongerFitting: TdImpact[];
  tdsLeftWithoutMigrationTarget: { count: number; page(first: number, offset: number): Promise<TdImpact[]> };
  capacityBefore: CapacityTotals;
  capacityAfter: CapacityTotals;
}

function applyChanges(fleet: FleetFacts, changes: WhatIfChanges, changedTds: ChangedTd[]): FleetFacts {
  const modules = new Map([...fleet.modules].map(([id, m]) => [id, { ...m }]));
  const kernels = new Map([...fleet.kernels].map(([id, k]) => [id, { ...k }]));
  for (const c of changes.modules) {
    const m = modules.get(c.moduleId)!;
    if (c.maxVcpusPerTd !== undefined) m.maxVcpusPerTd = c.maxVcpusPerTd;
    if (c.features !== undefined) m.features = c.features;
    if (c.tdcsPages !== undefined) m.tdcsPages = c.tdcsPages;
    if (c.tdvpsPages !== undefined) m.tdvpsPages = c.tdvpsPages;
  }
  for (const c of changes.kernels) {
    const k = kernels.get(c.kernelId)!;
    if (c.tdxVcpuPolicy !== undefined) k.tdxVcpuPolicy = c.tdxVcpuPolicy;
    if (c.kvmMaxVcpus !== undefined) k.kvmMaxVcpus = c.kvmMaxVcpus;
    if (c.tdxInitFailure !== undefined) k.tdxInitFailure = c.tdxInitFailure;
    if (c.moduleMetadata !== undefined) k.moduleMetadata = c.moduleMetadata;
  }
  const moved = new Map<number, { moduleId?: number | null | undefined; kernelId?: number | undefined }>();
  for (const move of changes.hostMoves) for (const id of move.hostIds) moved.set(id, { ...moved.get(id), ...move });
  const hostChanges = new Map<number, WhatIfChanges['hosts'][number]>();
  for (const c of changes.hosts) hostChanges.set(c.hostId, { ...hostChanges.get(c.hostId), ...c });
  // A TD's new memory moves its host's sums of TDs of known memory (R7).
  const memoryDeltas = new Map<number, { count: number; vcpus: number; mib: number }>();
  for (const td of changedTds) {
    if (td.hostId === null) continue;
    const d = memoryDeltas.get(td.hostId) ?? { count: 0, vcpus: 0, mib: 0 };
    const known = (m: number | null): number => (m === null ? 0 : 1);
    d.count += known(td.memoryAfter) - known(td.memoryBefore);
    d.vcpus += td.vcpus * (known(td.memoryAfter) - known(td.memoryBefore));
    d.mib += (td.memoryAfter ?? 0) - (td.memoryBefore ?? 0);
    memoryDeltas.set(td.hostId, d);
  }
  const hosts = fleet.hosts.map((h) => {
    const move = moved.get(h.id);
    const change = hostChanges.get(h.id);
    const delta = memoryDeltas.get(h.id);
    if (!move && !change && !delta) return h;
    return {
      ...h,
      moduleId: move?.moduleId !== undefined ? move.moduleId : h.moduleId,
      kernelId: move?.kernelId ?? h.kernelId,
      presentCpus: change?.presentCpus ?? h.presentCpus,
      kvmIntelTdx: change?.kvmIntelTdx ?? h.kvmIntelTdx,
      memoryMiB: change?.memoryMiB !== undefined ? change.memoryMiB : h.memoryMiB,
      reservedMemoryMiB: change?.reservedMemoryMiB ?? h.reservedMemoryMiB,
      usage: delta
        ? {
            ...h.usage,
            knownMemoryTdCount: h.usage.knownMemoryTdCount + delta.count,
            knownMemoryTdVcpus: h.usage.knownMemoryTdVcpus + delta.vcpus,
            knownMemoryTdMiB: h.usage.knownMemoryTdMiB + delta.mib,
          }
        : h.usage,
    };
  });
  return { modules, kernels, hosts };
}

// ---- migration targets (R6) at fleet scale ------------------------------------------------
// A host accepts a new TD of v vCPUs (R5) iff v <= its threshold: min(cap, free vCPUs) when TDX is
// enabled and a KeyID is free, else 0; and, where both memories are known, the TD's footprint on
// the host's module fits in the room its memory for TDs has left (R7). A TD on host X of module S
// has a migration target iff some other host accepting it runs a module whose import range overlaps
// S's export range.

interface TargetHost {
  hostId: number;
  threshold: number;
  /** R7: KiB left for TDs; null when the host's memory is unknown (memory is then not checked). */
  roomKiB: number | null;
  pages: { tdcsPages: number; tdvpsPages: number };
}

interface TargetIndex {
  /** The hosts that can import from the source module, by threshold descending. */
  hosts: TargetHost[];
}

function targetHostOf(fleet: FleetFacts, h: HostRecord, c: HostCapacity): TargetHost {
  const module = fleet.modules.get(h.moduleId!)!;
  return {
    hostId: h.id,
    threshold: largestAcceptedTdVcpus(c),
    roomKiB: c.tdMemoryMiB === null ? null : 1024 * c.tdMemoryMiB - allocatedMemoryKiB(module, h.usage),
    pages: { tdcsPages: module.tdcsPages, tdvpsPages: module.tdvpsPages },
  };
}

function targetIndexes(fleet: FleetFacts, capacities: Map<number, HostCapacity>): Map<number, TargetIndex> {
  const indexes = new Map<number, TargetIndex>();
  for (const source of fleet.modules.values()) {
    if (!source.migration) continue;
    const hosts: TargetHost[] = [];
    for (const h of fleet.hosts) {
      const target = h.moduleId === null ? null : fleet.modules.get(h.moduleId);
      if (target?.migration && migrationVersionsOverlap(source.migration, target.migration)) hosts.push(targetHostOf(fleet, h, capacities.get(h.id)!));
    }
    hosts.sort((a, b) => b.threshold - a.threshold);
    indexes.set(source.id, { hosts });
  }
  return indexes;
}

/** R5 on a target host of the index, the vCPU threshold aside. */
function memoryFits(t: TargetHost, td: TdSize): boolean {
  return td.memoryMiB === null || t.roomKiB === null || tdFootprintKiB(t.pages, { vcpus: td.vcpus, memoryMiB: td.memoryMiB }) <= t.roomKiB;
}

function hasTarget(fleet: FleetFacts, indexes: Map<number, TargetIndex>, host: HostRecord, td: TdSize): boolean {
  const source = host.moduleId === null ? null : fleet.modules.get(host.moduleId);
  if (!source?.migration) return false;
  // The hosts that accept the vCPUs come first; the first other one with room for the memory is a target.
  for (const t of indexes.get(source.id)!.hosts) {
    if (t.threshold < td.vcpus) return false;
    // The TD's own host is never a target (SAME_HOST).
    if (t.hostId !== host.id && memoryFits(t, td)) return true;
  }
  return false;
}

/** TDs at or under both sizes keep a migration target; null: none can lose one. */
interface StrandingBound {
  vcpus: number;
  /** For TDs of known memory; TDs of unknown memory are not checked for memory. */
  memoryMiB: number;
}

/**
 * A size at or under which no TD can be left without a migration target, or null when none can.
 * After the change, a TD of v vCPUs and m MiB on a host whose module has an import index keeps a
 * target when at least two hosts of that index accept it (one may be its own host): v <= vB, the
 * index's second-largest threshold, and m <= mB, the second-largest memory a TD of vB vCPUs fits
 * in among the hosts whose threshold reaches vB (unknown memory: any). A host whose module (after)
 * has no migration support strands all its TDs, but only if it had targets before, that is if its
 * module before had migration support. hasTarget() still decides every TD read; this only narrows
 * what is read.
 */
function strandingBound(before: FleetFacts, after: FleetFacts, indexesAfter: Map<number, TargetIndex>): StrandingBound | null {
  let bound: StrandingBound | null = null;
  const lower = (b: StrandingBound): void => {
    bound = bound === null ? b : { vcpus: Math.min(bound.vcpus, b.vcpus), memoryMiB: Math.min(bound.memoryMiB, b.memoryMiB) };
  };
  const perIndex = new Map<number, StrandingBound>();
  const indexBound = (moduleId: number): StrandingBound => {
    let b = perIndex.get(moduleId);
    if (!b) {
      const hosts = indexesAfter.get(moduleId)!.hosts;
      const vcpus = hosts[1]?.threshold ?? 0;
      const rooms = hosts
        .filter((t) => t.threshold >= vcpus)
        .map((t) => (t.roomKiB === null ? Infinity : Math.floor((t.roomKiB - 4 * (1 + t.pages.tdcsPages + vcpus * t.pages.tdvpsPages)) / 1028)))
        .sort((x, y) => y - x);
      b = { vcpus, memoryMiB: Math.max(0, rooms[1] ?? 0) };
      perIndex.set(moduleId, b);
    }
    return b;
  };
  for (let i = 0; i < after.hosts.length; i++) {
    const h = after.hosts[i]!;
    const moduleAfter = h.moduleId === null ? null : after.modules.get(h.moduleId);
    const beforeHost = before.hosts[i]!;
    const moduleBefore = beforeHost.moduleId === null ? null : before.modules.get(beforeHost.moduleId);
    if (!moduleBefore?.migration) continue; // no target before: nothing to lose
    if (!moduleAfter?.migration) lower({ vcpus: 0, memoryMiB: 0 });
    else lower(indexBound(moduleAfter.id));
  }
  return bound;
}

export async function whatIf(db: Database, changes: WhatIfChanges): Promise<WhatIfResult> {
  const before = await loadFleetFacts(db);
  const memoryOf = new Map(changes.tds.map((c) => [c.tdId, c.memoryMiB]));
  const changedTds: ChangedTd[] = memoryOf.size
    ? (
        await db.pool.query<{ id: number; host_id: number | null; vcpus: number; migratable: boolean; memory_mib: number | null }>(
          'SELECT id, host_id, vcpus, migratable, memory_mib FROM td WHERE id = ANY($1::int[]) ORDER BY id',
          [[...memoryOf.keys()]],
        )
      ).rows.map((t) => ({
        id: t.id,
        hostId: t.host_id,
        vcpus: t.vcpus,
        migratable: t.migratable,
        memoryBefore: t.memory_mib,
        memoryAfter: memoryOf.get(t.id)!,
      }))
    : [];
  const after = applyChanges(before, changes, changedTds);
  const capBefore = new Map(before.hosts.map((h) => [h.id, hostCapacity(factsOfHost(before, h), h.usage)]));
  const capAfter = new Map(after.hosts.map((h) => [h.id, hostCapacity(factsOfHost(after, h), h.usage)]));
  const hostsLosingTdx: HostImpact[] = [];
  const hostsLosingKvm: HostImpact[] = [];
  const hostsGainingTdx: HostImpact[] = [];
  const hostsWithNewCap: HostImpact[] = [];
  for (const h of after.hosts) {
    const b = capBefore.get(h.id)!;
    const a = capAfter.get(h.id)!;
    const impact = { host: h, before: b, after: a };
    if (b.kvmLoads && !a.kvmLoads) hostsLosingKvm.push(impact);
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
  // TDs larger than strandingBound() can lose them, so the rest are not even read. TDs whose memory
  // the changes set are judged one by one, with their memory before and after.
  const indexesBefore = targetIndexes(before, capBefore);
  const indexesAfter = targetIndexes(after, capAfter);
  const bound = strandingBound(before, after, indexesAfter);
  const changedIds = changedTds.map((t) => t.id);
  const groups =
    bound === null
      ? { rows: [] }
      : await db.pool.query<{ host_id: number; vcpus: number; memory_mib: number | null; n: number }>(
          `SELECT host_id, vcpus, memory_mib, count(*)::int AS n FROM td
           WHERE migratable AND host_id IS NOT NULL AND NOT (id = ANY($3::int[]))
             AND (vcpus > $1 OR (memory_mib IS NOT NULL AND memory_mib > $2))
           GROUP BY host_id, vcpus, memory_mib`,
          // An unbounded memory (every host of an index of unknown memory) reads no TD for its memory.
          [bound.vcpus, Math.min(bound.memoryMiB, 2 ** 31 - 1), changedIds],
        );
  const stranded = groups.rows.filter((g) => {
    const size = { vcpus: g.vcpus, memoryMiB: g.memory_mib };
    return hasTarget(before, indexesBefore, beforeById.get(g.host_id)!, size) && !hasTarget(after, indexesAfter, afterById.get(g.host_id)!, size);
  });
  const strandedChanged = changedTds
    .filter(
      (t) =>
        t.migratable &&
        t.hostId !== null &&
        hasTarget(before, indexesBefore, beforeById.get(t.hostId)!, { vcpus: t.vcpus, memoryMiB: t.memoryBefore }) &&
        !hasTarget(after, indexesAfter, afterById.get(t.hostId)!, { vcpus: t.vcpus, memoryMiB: t.memoryAfter }),
    )
    .map((t) => t.id);
  const strandedCount = stranded.reduce((n, g) => n + g.n, 0) + strandedChanged.length;

  return {
    hostsLosingTdx,
    hostsLosingKvm,
    hostsGainingTdx,
    hostsWithNewCap,
    tdsNoLongerFitting,
    tdsLeftWithoutMigrationTarget: {
      count: strandedCount,
      async page(first, offset) {
        if (strandedCount === 0 || first === 0) return [];
        const { rows } = await db.pool.query<{ id: number; name: string; vcpus: number; host_id: number; hostname: string }>(
          `SELECT t.id, t.name, t.vcpus, t.host_id, h.hostname
           FROM (
             SELECT g_td.id FROM unnest($1::int[], $2::int[], $3::int[]) AS g(host_id, vcpus, memory_mib)
             JOIN td g_td ON g_td.host_id = g.host_id AND g_td.vcpus = g.vcpus AND g_td.memory_mib IS NOT DISTINCT FROM g.memory_mib
             WHERE g_td.migratable AND NOT (g_td.id = ANY($5::int[]))
             UNION ALL
             SELECT unnest($4::int[])
           ) s
           JOIN td t ON t.id = s.id JOIN host h ON h.id = t.host_id
           ORDER BY t.id LIMIT $6 OFFSET $7`,
          [stranded.map((g) => g.host_id), stranded.map((g) => g.vcpus), stranded.map((g) => g.memory_mib), strandedChanged, changedIds, first, offset],
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
