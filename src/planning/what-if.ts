// N2 what-if: the impact of proposed changes, computed without writing anything. The fleet's
// facts are read in one snapshot (src/planning/fleet-facts.ts, as columns), the changes applied
// in memory, and both fleets evaluated with the same pure rules as the live answers
// (hostCapacity, fitsWhereItRuns, tdFitBlockers' conditions). Only the TDs that matter are read
// from SQL.
//
// What makes it fast at 100,000 hosts (bench/README.md, "whatIf speed"):
// - a host's TDX status (R1 reasons, R3 cap) depends on its TdxStatusFacts only, so it is
//   evaluated once per combination of module, kernel, platform, kvm_intel.tdx, present CPUs and
//   guest KeyIDs (a few hundred in a fleet), and shared by the hosts that have it;
// - only hosts a change touches (their module or kernel changed, moved, changed, or a TD's memory
//   changed) can answer differently after: the others are evaluated once for both sides;
// - R6's migration-target question is answered from each module's hosts sorted by the largest TD
//   they accept, with the best memory room of every prefix: a binary search, not a walk.
import {
  addCapacity,
  allocatedMemoryKiB,
  fitsUnderCap,
  hostCapacityWithStatus,
  MAINLINE_TDX_BEHAVIOUR,
  largestAcceptedTdVcpus,
  migrationVersionsOverlap,
  noCapacity,
  tdFootprintKiB,
  tdxStatus,
  type CapacityTotals,
  type HostCapacity,
  type HostFacts,
  type HostUsage,
  type ModuleMetadataPolicy,
  type TdSize,
  type TdxInitFailure,
  type TdxStatus,
  type TdxVcpuPolicy,
} from '../capacity/rules.js';
import type { Database } from '../db/client.js';
import { inSnapshot, loadFleetColumns, type FleetColumns, type KernelRecord, type ModuleRecord } from './fleet-facts.js';

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
  host: { id: number; hostname: string };
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

/** A list read page by page (a whatIf list too long to keep whole in memory is read from SQL). */
export interface PagedList<T> {
  count: number;
  page(first: number, offset: number): Promise<T[]>;
}

export interface WhatIfResult {
  hostsLosingTdx: HostImpact[];
  /** R1 v2: hosts whose kvm_intel loads now and would fail to load. */
  hostsLosingKvm: HostImpact[];
  hostsGainingTdx: HostImpact[];
  /** TDX enabled before and after, with another effective cap. */
  hostsWithNewCap: HostImpact[];
  /** Placed TDs that fit where they run now and would not after (R5, last sentence). */
  tdsNoLongerFitting: PagedList<TdImpact>;
  tdsLeftWithoutMigrationTarget: PagedList<TdImpact>;
  capacityBefore: CapacityTotals;
  capacityAfter: CapacityTotals;
}

/** The facts of a module or kernel after the changes (the same objects as before where unchanged). */
function changedModulesAndKernels(fleet: FleetColumns, changes: WhatIfChanges): { modules: Map<number, ModuleRecord>; kernels: Map<number, KernelRecord> } {
  const modules = new Map(fleet.modules);
  const kernels = new Map(fleet.kernels);
  for (const c of changes.modules) {
    const m = { ...modules.get(c.moduleId)! };
    if (c.maxVcpusPerTd !== undefined) m.maxVcpusPerTd = c.maxVcpusPerTd;
    if (c.features !== undefined) m.features = c.features;
    if (c.tdcsPages !== undefined) m.tdcsPages = c.tdcsPages;
    if (c.tdvpsPages !== undefined) m.tdvpsPages = c.tdvpsPages;
    modules.set(c.moduleId, m);
  }
  for (const c of changes.kernels) {
    const k = { ...kernels.get(c.kernelId)! };
    if (c.tdxVcpuPolicy !== undefined) k.tdxVcpuPolicy = c.tdxVcpuPolicy;
    if (c.kvmMaxVcpus !== undefined) k.kvmMaxVcpus = c.kvmMaxVcpus;
    if (c.tdxInitFailure !== undefined) k.tdxInitFailure = c.tdxInitFailure;
    if (c.moduleMetadata !== undefined) k.moduleMetadata = c.moduleMetadata;
    kernels.set(c.kernelId, k);
  }
  return { modules, kernels };
}

/** One host's facts on one side, as the rules see them. */
interface HostState {
  moduleId: number | null;
  kernelId: number;
  presentCpus: number;
  kvmIntelTdx: boolean;
  memoryMiB: number | null;
  reservedMemoryMiB: number;
  usage: HostUsage;
}

function blankState(): HostState {
  const usage: HostUsage = { tdCount: 0, allocatedVcpus: 0, knownMemoryTdCount: 0, knownMemoryTdVcpus: 0, knownMemoryTdMiB: 0 };
  return { moduleId: null, kernelId: 0, presentCpus: 0, kvmIntelTdx: false, memoryMiB: null, reservedMemoryMiB: 0, usage };
}

function stateOf(fleet: FleetColumns, i: number): HostState {
  return readState(fleet, i, blankState());
}

/** Host i's facts as they are, written into `into` (the pass over every host reuses one). */
function readState(fleet: FleetColumns, i: number, into: HostState): HostState {
  const h = fleet.hosts;
  const moduleId = h.moduleId[i]!;
  const memoryMiB = h.memoryMiB[i]!;
  into.moduleId = moduleId < 0 ? null : moduleId;
  into.kernelId = h.kernelId[i]!;
  into.presentCpus = h.presentCpus[i]!;
  into.kvmIntelTdx = h.kvmIntelTdx[i] === 1;
  into.memoryMiB = Number.isNaN(memoryMiB) ? null : memoryMiB;
  into.reservedMemoryMiB = h.reservedMemoryMiB[i]!;
  const u = into.usage;
  u.tdCount = h.tdCount[i]!;
  u.allocatedVcpus = h.allocatedVcpus[i]!;
  u.knownMemoryTdCount = h.knownMemoryTdCount[i]!;
  u.knownMemoryTdVcpus = h.knownMemoryTdVcpus[i]!;
  u.knownMemoryTdMiB = h.knownMemoryTdMiB[i]!;
  return into;
}

/** The hosts the changes touch (by host id), each with its state after the changes. */
function touchedHosts(fleet: FleetColumns, changes: WhatIfChanges, changedTds: ChangedTd[]): Map<number, HostState> {
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
  const changedModules = new Set(changes.modules.map((c) => c.moduleId));
  const changedKernels = new Set(changes.kernels.map((c) => c.kernelId));
  const h = fleet.hosts;
  const touched = new Map<number, HostState>();
  for (let i = 0; i < h.count; i++) {
    const id = h.id[i]!;
    const move = moved.get(id);
    const change = hostChanges.get(id);
    const delta = memoryDeltas.get(id);
    if (!move && !change && !delta && !changedModules.has(h.moduleId[i]!) && !changedKernels.has(h.kernelId[i]!)) continue;
    const s = stateOf(fleet, i);
    touched.set(id, {
      moduleId: move?.moduleId !== undefined ? move.moduleId : s.moduleId,
      kernelId: move?.kernelId ?? s.kernelId,
      presentCpus: change?.presentCpus ?? s.presentCpus,
      kvmIntelTdx: change?.kvmIntelTdx ?? s.kvmIntelTdx,
      memoryMiB: change?.memoryMiB !== undefined ? change.memoryMiB : s.memoryMiB,
      reservedMemoryMiB: change?.reservedMemoryMiB ?? s.reservedMemoryMiB,
      usage: delta
        ? {
            ...s.usage,
            knownMemoryTdCount: s.usage.knownMemoryTdCount + delta.count,
            knownMemoryTdVcpus: s.usage.knownMemoryTdVcpus + delta.vcpus,
            knownMemoryTdMiB: s.usage.knownMemoryTdMiB + delta.mib,
          }
        : s.usage,
    });
  }
  return touched;
}

/**
 * tdxStatus() once per combination of the facts it reads (TdxStatusFacts): module, kernel,
 * platform (whether the module supports it), kvm_intel.tdx, present CPUs and guest KeyIDs.
 */
class StatusCache {
  // module (-1: none) -> kernel -> platform -> present CPUs and kvm_intel.tdx -> guest KeyIDs: no key built per host.
  private readonly byModule = new Map<number, Map<number, Map<number, Map<number, Map<number, TdxStatus>>>>>();
  constructor(
    private readonly modules: Map<number, ModuleRecord>,
    private readonly kernels: Map<number, KernelRecord>,
  ) {}

  of(moduleId: number | null, kernelId: number, platformId: number, kvmIntelTdx: boolean, presentCpus: number, guestKeyIds: number): TdxStatus {
    const byGuestKeyIds = level(level(level(level(this.byModule, moduleId ?? -1), kernelId), platformId), 2 * presentCpus + (kvmIntelTdx ? 1 : 0));
    let status = byGuestKeyIds.get(guestKeyIds);
    if (status === undefined) {
      const module = moduleId === null ? null : (this.modules.get(moduleId) ?? null);
      status = tdxStatus({
        presentCpus,
        guestKeyIds,
        kvmIntelTdx,
        module,
        moduleSupportsPlatform: module?.platformIds.has(platformId) ?? false,
        kernel: this.kernels.get(kernelId)!,
      });
      byGuestKeyIds.set(guestKeyIds, status);
    }
    return status;
  }
}

function level<T>(map: Map<number, Map<number, T>>, key: number): Map<number, T> {
  let next = map.get(key);
  if (next === undefined) {
    next = new Map();
    map.set(key, next);
  }
  return next;
}

/** One side (before or after): the facts of modules and kernels, and how each host's status is cached. */
interface Side {
  modules: Map<number, ModuleRecord>;
  kernels: Map<number, KernelRecord>;
  statuses: StatusCache;
}

function sideOf(modules: Map<number, ModuleRecord>, kernels: Map<number, KernelRecord>): Side {
  return { modules, kernels, statuses: new StatusCache(modules, kernels) };
}

/**
 * The host's capacity on a side: hostCapacity() with the status shared among hosts of equal status
 * facts. `facts` is scratch space, overwritten (the answer keeps no reference to it).
 */
function capacityOn(side: Side, fleet: FleetColumns, i: number, s: HostState, facts: HostFacts): HostCapacity {
  const h = fleet.hosts;
  const module = s.moduleId === null ? null : (side.modules.get(s.moduleId) ?? null);
  const platformId = h.platformId[i]!;
  const guestKeyIds = h.guestKeyIds[i]!;
  const status = side.statuses.of(s.moduleId, s.kernelId, platformId, s.kvmIntelTdx, s.presentCpus, guestKeyIds);
  facts.presentCpus = s.presentCpus;
  facts.guestKeyIds = guestKeyIds;
  facts.allocationRatio = h.allocationRatio[i]!;
  facts.kvmIntelTdx = s.kvmIntelTdx;
  facts.memoryMiB = s.memoryMiB;
  facts.reservedMemoryMiB = s.reservedMemoryMiB;
  facts.module = module;
  facts.moduleSupportsPlatform = module?.platformIds.has(platformId) ?? false;
  facts.kernel = side.kernels.get(s.kernelId)!;
  return hostCapacityWithStatus(status, facts, s.usage);
}

// ---- migration targets (R6) at fleet scale ------------------------------------------------
// A host accepts a new TD of v vCPUs (R5) iff v <= its threshold: min(cap, free vCPUs) when TDX is
// enabled and a KeyID is free, else 0; and, where both memories are known, the TD's footprint on
// the host's module fits in the room its memory for TDs has left (R7). A TD on host X of module S
// has a migration target iff some other host accepting it runs a module whose import range overlaps
// S's export range.

/** Per host (by index) on one side: its module (-1: none), threshold and R7 room in KiB (Infinity: memory unknown, not checked). */
interface TargetFacts {
  moduleId: Int32Array;
  threshold: Int32Array;
  roomKiB: Float64Array;
}

function targetFactsOf(side: Side, i: number, s: HostState, c: HostCapacity, into: TargetFacts): void {
  into.moduleId[i] = s.moduleId ?? -1;
  into.threshold[i] = largestAcceptedTdVcpus(c);
  const module = s.moduleId === null ? null : side.modules.get(s.moduleId);
  into.roomKiB[i] = c.tdMemoryMiB === null || !module ? Infinity : 1024 * c.tdMemoryMiB - allocatedMemoryKiB(module, s.usage);
}

/**
 * The hosts of one module with migration support, by threshold descending, and for every prefix
 * the best and second-best memory room (of two different hosts) and which host has the best.
 */
interface ModuleTargets {
  module: ModuleRecord;
  hosts: Int32Array;
  thresholds: Int32Array;
  bestRoom: Float64Array;
  bestHost: Int32Array;
  secondRoom: Float64Array;
}

interface TargetIndex {
  side: Side;
  facts: TargetFacts;
  byModule: Map<number, ModuleTargets>;
  /** For each source module with migration support: the modules that import from it. */
  importers: Map<number, ModuleTargets[]>;
}

/**
 * The index of one side. `same`: modules whose hosts are the same, with the same thresholds and
 * rooms, as in `previous` (no change touches the module or any of its hosts): their lists are reused.
 */
function targetIndex(side: Side, facts: TargetFacts, previous?: { index: TargetIndex; same: (moduleId: number) => boolean }): TargetIndex {
  const n = facts.moduleId.length;
  const byModule = new Map<number, ModuleTargets>();
  const members = new Map<number, number>();
  for (const m of side.modules.values()) {
    if (!m.migration) continue;
    const reused = previous?.same(m.id) ? previous.index.byModule.get(m.id) : undefined;
    if (reused) byModule.set(m.id, reused);
    else members.set(m.id, 0);
  }
  // Counted, then placed by threshold descending (a counting sort; ties by host order).
  let max = 0;
  for (let i = 0; i < n; i++) {
    const count = members.get(facts.moduleId[i]!);
    if (count === undefined) continue;
    members.set(facts.moduleId[i]!, count + 1);
    max = Math.max(max, facts.threshold[i]!);
  }
  const lists = new Map<number, { hosts: Int32Array; next: Int32Array }>();
  for (const [moduleId, count] of members) lists.set(moduleId, { hosts: new Int32Array(count), next: new Int32Array(max + 2) });
  for (let i = 0; i < n; i++) {
    const list = lists.get(facts.moduleId[i]!);
    if (list) list.next[max - facts.threshold[i]! + 1]! += 1;
  }
  for (const list of lists.values()) for (let t = 1; t < list.next.length; t++) list.next[t]! += list.next[t - 1]!;
  for (let i = 0; i < n; i++) {
    const list = lists.get(facts.moduleId[i]!);
    if (list) list.hosts[list.next[max - facts.threshold[i]!]!++] = i;
  }
  for (const [moduleId, { hosts }] of lists) {
    const thresholds = new Int32Array(hosts.length);
    const bestRoom = new Float64Array(hosts.length);
    const bestHost = new Int32Array(hosts.length);
    const secondRoom = new Float64Array(hosts.length);
    let best = -Infinity;
    let bestAt = -1;
    let second = -Infinity;
    for (let j = 0; j < hosts.length; j++) {
      const i = hosts[j]!;
      thresholds[j] = facts.threshold[i]!;
      const room = facts.roomKiB[i]!;
      if (room > best) {
        second = best;
        best = room;
        bestAt = i;
      } else if (room > second) second = room;
      bestRoom[j] = best;
      bestHost[j] = bestAt;
      secondRoom[j] = second;
    }
    byModule.set(moduleId, { module: side.modules.get(moduleId)!, hosts, thresholds, bestRoom, bestHost, secondRoom });
  }
  const importers = new Map<number, ModuleTargets[]>();
  for (const source of byModule.values()) {
    importers.set(
      source.module.id,
      [...byModule.values()].filter((t) => migrationVersionsOverlap(source.module.migration!, t.module.migration!)),
    );
  }
  return { side, facts, byModule, importers };
}

/** How many hosts of the list (by threshold descending) have a threshold of at least v. */
function reaching(t: ModuleTargets, v: number): number {
  let lo = 0;
  let hi = t.thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t.thresholds[mid]! >= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** R5 on a target host, the vCPU threshold aside: where both memories are known, the footprint fits the room. */
function memoryFits(roomKiB: number, pages: { tdcsPages: number; tdvpsPages: number }, td: TdSize): boolean {
  return td.memoryMiB === null || tdFootprintKiB(pages, { vcpus: td.vcpus, memoryMiB: td.memoryMiB }) <= roomKiB;
}

/** Whether the TD on host i (by index) has a migration target on the index's side. */
function hasTarget(index: TargetIndex, i: number, td: TdSize): boolean {
  const moduleId = index.facts.moduleId[i]!;
  const importers = index.importers.get(moduleId);
  if (!importers) return false; // no module, or one without migration support
  for (const t of importers) {
    const count = reaching(t, td.vcpus);
    if (count === 0) continue;
    // The TD's own host is never a target (SAME_HOST): the best room of the hosts that accept the
    // vCPUs, or the second best where the best is the TD's own host.
    const room = t.bestHost[count - 1] === i ? t.secondRoom[count - 1]! : t.bestRoom[count - 1]!;
    if (room !== -Infinity && memoryFits(room, t.module, td)) return true;
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
function strandingBound(before: TargetIndex, after: TargetIndex): StrandingBound | null {
  let bound: StrandingBound | null = null;
  const lower = (b: StrandingBound): void => {
    bound = bound === null ? b : { vcpus: Math.min(bound.vcpus, b.vcpus), memoryMiB: Math.min(bound.memoryMiB, b.memoryMiB) };
  };
  const indexBound = (moduleId: number): StrandingBound => {
    const importers = after.importers.get(moduleId)!;
    // The second-largest threshold of the index (the union of its importers' hosts).
    const top: number[] = [];
    for (const t of importers) for (let j = 0; j < Math.min(2, t.thresholds.length); j++) top.push(t.thresholds[j]!);
    top.sort((x, y) => y - x);
    const vcpus = top[1] ?? 0;
    let first = -Infinity;
    let second = -Infinity;
    for (const t of importers) {
      const overhead = 4 * (1 + t.module.tdcsPages + vcpus * t.module.tdvpsPages);
      for (let j = 0; j < t.thresholds.length && t.thresholds[j]! >= vcpus; j++) {
        const room = Math.floor((after.facts.roomKiB[t.hosts[j]!]! - overhead) / 1028);
        if (room > first) {
          second = first;
          first = room;
        } else if (room > second) second = room;
      }
    }
    return { vcpus, memoryMiB: Math.max(0, second === -Infinity ? 0 : second) };
  };
  // The modules after (-1: none) of the hosts whose module before has migration support.
  const modulesAfter = new Set<number>();
  const n = before.facts.moduleId.length;
  for (let i = 0; i < n; i++) {
    if (!before.importers.has(before.facts.moduleId[i]!)) continue; // no target before: nothing to lose
    modulesAfter.add(after.facts.moduleId[i]!);
  }
  for (const moduleId of modulesAfter) {
    if (!after.importers.has(moduleId)) lower({ vcpus: 0, memoryMiB: 0 });
    else lower(indexBound(moduleId));
  }
  return bound;
}

/** The index of the host with this id (ids ascending), or -1. */
function indexOfHost(fleet: FleetColumns, id: number): number {
  const ids = fleet.hosts.id;
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = ids[mid]!;
    if (v === id) return mid;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

export async function whatIf(db: Database, changes: WhatIfChanges): Promise<WhatIfResult> {
  const memoryOf = new Map(changes.tds.map((c) => [c.tdId, c.memoryMiB]));
  const answer = await inSnapshot(db, async (client) => {
    const fleet = await loadFleetColumns(client);
    const changedTds: ChangedTd[] = memoryOf.size
      ? (
          await client.query<{ id: number; host_id: number | null; vcpus: number; migratable: boolean; memory_mib: number | null }>(
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
    const n = fleet.hosts.count;
    const before = sideOf(fleet.modules, fleet.kernels);
    const changed = changedModulesAndKernels(fleet, changes);
    const after = sideOf(changed.modules, changed.kernels);
    const touched = touchedHosts(fleet, changes, changedTds);

    // Every host once; the hosts the changes touch once more, after.
    const capacityBefore = noCapacity();
    const capacityAfter = noCapacity();
    const newTargetFacts = (): TargetFacts => ({ moduleId: new Int32Array(n), threshold: new Int32Array(n), roomKiB: new Float64Array(n) });
    const targetsBefore = newTargetFacts();
    const targetsAfter = newTargetFacts();
    // Each host's cap before and after (-1: TDX disabled), for the TD lists.
    const capBefore = new Int32Array(n);
    const capAfter = new Int32Array(n);
    const impacts: { i: number; before: HostCapacity; after: HostCapacity }[] = [];
    // Scratch space for the pass: one state and one facts object, overwritten host after host.
    const s = blankState();
    const facts: HostFacts = {
      presentCpus: 0,
      guestKeyIds: 0,
      allocationRatio: 1,
      kvmIntelTdx: false,
      memoryMiB: null,
      reservedMemoryMiB: 0,
      module: null,
      moduleSupportsPlatform: false,
      kernel: { kvmMaxVcpus: 0, ...MAINLINE_TDX_BEHAVIOUR },
    };
    for (let i = 0; i < n; i++) {
      readState(fleet, i, s);
      const b = capacityOn(before, fleet, i, s, facts);
      addCapacity(capacityBefore, b);
      targetFactsOf(before, i, s, b, targetsBefore);
      capBefore[i] = b.kvmCapMaxVcpus ?? -1;
      const sAfter = touched.get(fleet.hosts.id[i]!);
      if (sAfter === undefined) {
        addCapacity(capacityAfter, b);
        targetsAfter.moduleId[i] = targetsBefore.moduleId[i]!;
        targetsAfter.threshold[i] = targetsBefore.threshold[i]!;
        targetsAfter.roomKiB[i] = targetsBefore.roomKiB[i]!;
        capAfter[i] = capBefore[i]!;
        continue;
      }
      const a = capacityOn(after, fleet, i, sAfter, facts);
      addCapacity(capacityAfter, a);
      targetFactsOf(after, i, sAfter, a, targetsAfter);
      capAfter[i] = a.kvmCapMaxVcpus ?? -1;
      impacts.push({ i, before: b, after: a });
    }
    const capOf = (caps: Int32Array, i: number): number | null => (caps[i]! < 0 ? null : caps[i]!);

    const lists = { hostsLosingTdx: [] as number[], hostsLosingKvm: [] as number[], hostsGainingTdx: [] as number[], hostsWithNewCap: [] as number[] };
    for (let j = 0; j < impacts.length; j++) {
      const { before: b, after: a } = impacts[j]!;
      if (b.kvmLoads && !a.kvmLoads) lists.hostsLosingKvm.push(j);
      if (b.tdxEnabled && !a.tdxEnabled) lists.hostsLosingTdx.push(j);
      else if (!b.tdxEnabled && a.tdxEnabled) lists.hostsGainingTdx.push(j);
      else if (a.tdxEnabled && a.kvmCapMaxVcpus !== b.kvmCapMaxVcpus) lists.hostsWithNewCap.push(j);
    }
    const listed = [...new Set([...lists.hostsLosingTdx, ...lists.hostsLosingKvm, ...lists.hostsGainingTdx, ...lists.hostsWithNewCap])];
    const hostnames = new Map<number, string>();
    if (listed.length) {
      const { rows } = await client.query<{ id: number; hostname: string }>('SELECT id, hostname FROM host WHERE id = ANY($1::int[])', [
        listed.map((j) => fleet.hosts.id[impacts[j]!.i]!),
      ]);
      for (const r of rows) hostnames.set(r.id, r.hostname);
    }
    const impactOf = (j: number): HostImpact => {
      const { i, before: b, after: a } = impacts[j]!;
      const id = fleet.hosts.id[i]!;
      return { host: { id, hostname: hostnames.get(id)! }, before: b, after: a };
    };

    // TDs that fit where they run and would not: only on hosts whose cap went down or disappeared.
    // Counted here by (cap before, cap after, vCPUs); the TDs themselves are read a page at a time.
    // A few hosts' TDs through td_host_id_id_idx (OFFSET 0 keeps the planner from hashing all of td:
    // it cannot tell how few hosts the arrays hold); many hosts' by a join it plans.
    const shrunk = impacts.filter(({ i }) => capBefore[i]! >= 0 && (capAfter[i]! < 0 || capAfter[i]! < capBefore[i]!)).map(({ i }) => i);
    const shrunkHosts = {
      ids: shrunk.map((i) => fleet.hosts.id[i]!),
      capsBefore: shrunk.map((i) => capOf(capBefore, i)),
      capsAfter: shrunk.map((i) => capOf(capAfter, i)),
    };
    const tdsOfShrunkHosts =
      shrunk.length <= n / 20
        ? 'CROSS JOIN LATERAL (SELECT td.id, td.name, td.vcpus FROM td WHERE td.host_id = s.host_id OFFSET 0) t'
        : 'JOIN td t ON t.host_id = s.host_id';
    const brokenGroups = shrunk.length
      ? await client.query<{ cap_before: number; cap_after: number | null; vcpus: number; n: number }>(
          `SELECT s.cap_before, s.cap_after, t.vcpus, count(*)::int AS n
           FROM unnest($1::int[], $2::int[], $3::int[]) AS s(host_id, cap_before, cap_after)
           ${tdsOfShrunkHosts}
           WHERE t.vcpus <= s.cap_before AND (s.cap_after IS NULL OR t.vcpus > s.cap_after)
           GROUP BY 1, 2, 3`,
          [shrunkHosts.ids, shrunkHosts.capsBefore, shrunkHosts.capsAfter],
        )
      : { rows: [] };
    // the rules have the last word: the SQL above only narrows the TDs down
    const broken = brokenGroups.rows.filter((g) => fitsUnderCap(g.cap_before, g.vcpus) && !fitsUnderCap(g.cap_after, g.vcpus));

    // Migratable placed TDs, grouped by host and size: a group loses its targets as a whole. Only
    // TDs larger than strandingBound() can lose them, so the rest are not even read. TDs whose memory
    // the changes set are judged one by one, with their memory before and after.
    const indexBefore = targetIndex(before, targetsBefore);
    // A module's list after is its list before unless a change touches the module or one of its hosts.
    const touchedModules = new Set(changes.modules.map((c) => c.moduleId));
    for (const { i } of impacts) {
      touchedModules.add(targetsBefore.moduleId[i]!);
      touchedModules.add(targetsAfter.moduleId[i]!);
    }
    const indexAfter = targetIndex(after, targetsAfter, { index: indexBefore, same: (moduleId) => !touchedModules.has(moduleId) });
    const bound = strandingBound(indexBefore, indexAfter);
    const changedIds = changedTds.map((t) => t.id);
    // Only hosts holding such TDs at all are read: a TD's vCPUs are at most its host's allocated
    // vCPUs, and its known memory at most its host's sum of known memory (usage columns of this
    // snapshot). When few hosts qualify, their TDs are read through td_host_id_id_idx; else td is scanned.
    let groups: { rows: { host_id: number; vcpus: number; memory_mib: number | null; n: number }[] } = { rows: [] };
    if (bound !== null) {
      const { vcpus, memoryMiB } = bound;
      const h = fleet.hosts;
      const holding: number[] = [];
      for (let i = 0; i < n; i++) if (h.allocatedVcpus[i]! > vcpus || h.knownMemoryTdMiB[i]! > memoryMiB) holding.push(h.id[i]!);
      // An unbounded memory (every host of an index of unknown memory) reads no TD for its memory.
      const params = [vcpus, Math.min(memoryMiB, 2 ** 31 - 1), changedIds];
      const wanted = 'migratable AND NOT (id = ANY($3::int[])) AND (vcpus > $1 OR (memory_mib IS NOT NULL AND memory_mib > $2))';
      if (holding.length === 0) groups = { rows: [] };
      else if (holding.length <= n / 20)
        groups = await client.query(
          `SELECT host_id, vcpus, memory_mib, count(*)::int AS n
           FROM unnest($4::int[]) AS s(holding_id)
           CROSS JOIN LATERAL (SELECT * FROM td WHERE td.host_id = s.holding_id OFFSET 0) t
           WHERE ${wanted}
           GROUP BY host_id, vcpus, memory_mib`,
          [...params, holding],
        );
      else
        groups = await client.query(
          `SELECT host_id, vcpus, memory_mib, count(*)::int AS n FROM td WHERE host_id IS NOT NULL AND ${wanted} GROUP BY host_id, vcpus, memory_mib`,
          params,
        );
    }
    const stranded = groups.rows.filter((g) => {
      const i = indexOfHost(fleet, g.host_id);
      const size = { vcpus: g.vcpus, memoryMiB: g.memory_mib };
      return hasTarget(indexBefore, i, size) && !hasTarget(indexAfter, i, size);
    });
    const strandedChanged = changedTds
      .filter((t) => {
        if (!t.migratable || t.hostId === null) return false;
        const i = indexOfHost(fleet, t.hostId);
        return (
          hasTarget(indexBefore, i, { vcpus: t.vcpus, memoryMiB: t.memoryBefore }) && !hasTarget(indexAfter, i, { vcpus: t.vcpus, memoryMiB: t.memoryAfter })
        );
      })
      .map((t) => t.id);
    return {
      hostsLosingTdx: lists.hostsLosingTdx.map(impactOf),
      hostsLosingKvm: lists.hostsLosingKvm.map(impactOf),
      hostsGainingTdx: lists.hostsGainingTdx.map(impactOf),
      hostsWithNewCap: lists.hostsWithNewCap.map(impactOf),
      shrunkHosts,
      tdsOfShrunkHosts,
      broken,
      stranded,
      strandedChanged,
      changedIds,
      capacityBefore,
      capacityAfter,
      capsOfHost: (hostId: number): { capBefore: number | null; capAfter: number | null } => {
        const i = indexOfHost(fleet, hostId);
        return i < 0 ? { capBefore: null, capAfter: null } : { capBefore: capOf(capBefore, i), capAfter: capOf(capAfter, i) };
      },
    };
  });
  const { shrunkHosts, tdsOfShrunkHosts, broken, stranded, strandedChanged, changedIds, capsOfHost } = answer;
  const brokenCount = broken.reduce((n, g) => n + g.n, 0);
  const strandedCount = stranded.reduce((n, g) => n + g.n, 0) + strandedChanged.length;

  return {
    hostsLosingTdx: answer.hostsLosingTdx,
    hostsLosingKvm: answer.hostsLosingKvm,
    hostsGainingTdx: answer.hostsGainingTdx,
    hostsWithNewCap: answer.hostsWithNewCap,
    tdsNoLongerFitting: {
      count: brokenCount,
      async page(first, offset) {
        if (brokenCount === 0 || first === 0) return [];
        const { rows } = await db.pool.query<{ id: number; name: string; vcpus: number; host_id: number; hostname: string }>(
          `SELECT t.id, t.name, t.vcpus, s.host_id, h.hostname
           FROM unnest($1::int[], $2::int[], $3::int[]) AS s(host_id, cap_before, cap_after)
           ${tdsOfShrunkHosts}
           JOIN unnest($4::int[], $5::int[], $6::int[]) AS g(cap_before, cap_after, vcpus)
             ON g.cap_before = s.cap_before AND g.cap_after IS NOT DISTINCT FROM s.cap_after AND g.vcpus = t.vcpus
           JOIN host h ON h.id = s.host_id
           ORDER BY t.id LIMIT $7 OFFSET $8`,
          [
            shrunkHosts.ids,
            shrunkHosts.capsBefore,
            shrunkHosts.capsAfter,
            broken.map((g) => g.cap_before),
            broken.map((g) => g.cap_after),
            broken.map((g) => g.vcpus),
            first,
            offset,
          ],
        );
        return rows.map((t) => ({ id: t.id, name: t.name, vcpus: t.vcpus, hostname: t.hostname, ...capsOfHost(t.host_id) }));
      },
    },
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
        return rows.map((t) => ({ id: t.id, name: t.name, vcpus: t.vcpus, hostname: t.hostname, ...capsOfHost(t.host_id) }));
      },
    },
    capacityBefore: answer.capacityBefore,
    capacityAfter: answer.capacityAfter,
  };
}
