// Proposed changes (N2) by reference, resolved against the inventory as it is now. One resolver
// serves whatIf (references by natural key or global ID) and stored scenarios (natural keys only,
// resolved at every evaluation, so an inventory that has moved on is noticed): it reports every
// unknown entity and every out-of-range value at once, with the input path of each.
//
// The shape is the GraphQL `WhatIfChanges` input. A new kind of change is a new optional field
// here, in `resolveChanges` and in what-if.ts's WhatIfChanges; stored scenarios keep working.
import { maxLogicalCpus, type ModuleMetadataPolicy, type TdxInitFailure, type TdxVcpuPolicy } from '../capacity/rules.js';
import type { PrismaClient } from '../db/client.js';
import { ValidationError, type EntityKind, type FieldProblem } from '../errors.js';
import { globalIdOf, type HostRefShape, type KernelRefShape, type ModuleRefShape, type TdRefShape } from '../inventory/refs.js';
import { validateHost, validateTd } from '../inventory/validation.js';
import type { WhatIfChanges } from './what-if.js';

/** The changes as inputs give them: references by natural key or global ID (the GraphQL `WhatIfChanges`). */
export interface ChangesInput {
  modules?:
    { module: ModuleRefShape; maxVcpusPerTd?: number | null; features?: string[] | null; tdcsPages?: number | null; tdvpsPages?: number | null }[] | null;
  kernels?:
    | {
        kernel: KernelRefShape;
        tdxVcpuPolicy?: TdxVcpuPolicy | null;
        kvmMaxVcpus?: number | null;
        tdxInitFailure?: TdxInitFailure | null;
        moduleMetadata?: ModuleMetadataPolicy | null;
      }[]
    | null;
  hostMoves?:
    | {
        hosts?: HostRefShape[] | null;
        fromModule?: ModuleRefShape | null;
        fromKernel?: KernelRefShape | null;
        /** Absent: the module stays; null: the hosts unload their module. */
        toModule?: ModuleRefShape | null;
        toKernel?: KernelRefShape | null;
      }[]
    | null;
  hosts?:
    { host: HostRefShape; presentCpus?: number | null; kvmIntelTdx?: boolean | null; memoryMiB?: number | null; reservedMemoryMiB?: number | null }[] | null;
  /** `memoryMiB` is required (null: unknown). */
  tds?: { td: TdRefShape; memoryMiB?: number | null }[] | null;
}

/** The same changes with every reference by natural key and only the fields given: what a scenario stores. */
export interface NamedChanges {
  modules: { module: { version: string }; maxVcpusPerTd?: number | null; features?: string[]; tdcsPages?: number; tdvpsPages?: number }[];
  kernels: {
    kernel: { name: string };
    tdxVcpuPolicy?: TdxVcpuPolicy;
    kvmMaxVcpus?: number;
    tdxInitFailure?: TdxInitFailure;
    moduleMetadata?: ModuleMetadataPolicy;
  }[];
  hostMoves: {
    hosts?: { hostname: string }[];
    fromModule?: { version: string };
    fromKernel?: { name: string };
    toModule?: { version: string } | null;
    toKernel?: { name: string };
  }[];
  hosts: { host: { hostname: string }; presentCpus?: number; kvmIntelTdx?: boolean; memoryMiB?: number | null; reservedMemoryMiB?: number }[];
  tds: { td: { name: string }; memoryMiB: number | null }[];
}

/** An entity the changes name, as it is now: its generation says whether it has changed since. */
export interface NamedEntity {
  entity: 'TdxModule' | 'Kernel' | 'Host' | 'Td';
  id: number;
  key: string;
  generation: number;
}

export interface ResolvedChanges {
  /** For the rules (src/planning/what-if.ts). */
  ids: WhatIfChanges;
  named: NamedChanges;
  /** Every entity the changes name (selectors expanded to their hosts), once each. */
  entities: NamedEntity[];
  /** The hosts each host move selects, by hostname, in move order. */
  movedHosts: string[][];
}

interface Row {
  id: number;
  key: string;
  generation: number;
}

/** Batch lookup of one entity kind: refs are collected first, then loaded in one query. */
class RefTable<R extends Row, Ref extends { id?: string | null }> {
  private readonly byKey = new Map<string, R>();
  private readonly byId = new Map<number, R>();
  private readonly keys = new Set<string>();
  private readonly ids = new Set<number>();

  constructor(
    private readonly entity: EntityKind,
    private readonly keyOf: (ref: Ref) => string | null | undefined,
    private readonly what: string,
  ) {}

  /** The ref as something to look up, or a problem (malformed global ID). */
  want(ref: Ref, field: string, problems: FieldProblem[]): { id: number } | { key: string } | null {
    if (ref.id != null) {
      try {
        const id = globalIdOf(this.entity, ref.id, field);
        this.ids.add(id);
        return { id };
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        problems.push(...err.problems);
        return null;
      }
    }
    const key = this.keyOf(ref) ?? '';
    this.keys.add(key);
    return { key };
  }

  async load(find: (keys: string[], ids: number[]) => Promise<R[]>): Promise<void> {
    if (this.keys.size === 0 && this.ids.size === 0) return;
    for (const row of await find([...this.keys], [...this.ids])) {
      this.byKey.set(row.key, row);
      this.byId.set(row.id, row);
    }
  }

  /** The row, or null with a problem naming the reference as it was given. */
  get(wanted: { id: number } | { key: string } | null, given: Ref, field: string, problems: FieldProblem[]): R | null {
    if (wanted === null) return null;
    const row = 'id' in wanted ? this.byId.get(wanted.id) : this.byKey.get(wanted.key);
    if (!row) problems.push({ field, message: `unknown ${this.what} "${given.id ?? this.keyOf(given) ?? ''}"` });
    return row ?? null;
  }
}

interface HostRow extends Row {
  platform: { name: string; sockets: number; coresPerSocket: number; threadsPerCore: number };
  memoryMiB: number | null;
  reservedMemoryMiB: number;
}

/** The entries of `o` that were given (undefined ones left out): what a stored change keeps. */
function given<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Resolves `input` against the inventory as it is now. Throws ValidationError listing every
 * problem (unknown module, kernel or host; values out of range), with input paths under `prefix`.
 */
export async function resolveChanges(prisma: PrismaClient, input: ChangesInput, prefix = 'changes'): Promise<ResolvedChanges> {
  const problems: FieldProblem[] = [];
  const modules = new RefTable<Row, ModuleRefShape>('TdxModule', (r) => r.version, 'module');
  const kernels = new RefTable<Row, KernelRefShape>('Kernel', (r) => r.name, 'kernel');
  const hosts = new RefTable<HostRow, HostRefShape>('Host', (r) => r.hostname, 'host');
  const tds = new RefTable<Row, TdRefShape>('Td', (r) => r.name, 'TD');

  // 1. Collect every reference, 2. load each kind in one query, 3. resolve in input order.
  const moduleChanges = (input.modules ?? []).map((c, i) => ({
    c,
    field: `${prefix}.modules[${i}]`,
    ref: modules.want(c.module, `${prefix}.modules[${i}].module`, problems),
  }));
  const kernelChanges = (input.kernels ?? []).map((c, i) => ({
    c,
    field: `${prefix}.kernels[${i}]`,
    ref: kernels.want(c.kernel, `${prefix}.kernels[${i}].kernel`, problems),
  }));
  const moves = (input.hostMoves ?? []).map((m, i) => {
    const field = `${prefix}.hostMoves[${i}]`;
    return {
      m,
      field,
      hosts: (m.hosts ?? []).map((ref, j) => hosts.want(ref, `${field}.hosts[${j}]`, problems)),
      fromModule: m.fromModule ? modules.want(m.fromModule, `${field}.fromModule`, problems) : null,
      fromKernel: m.fromKernel ? kernels.want(m.fromKernel, `${field}.fromKernel`, problems) : null,
      toModule: m.toModule ? modules.want(m.toModule, `${field}.toModule`, problems) : null,
      toKernel: m.toKernel ? kernels.want(m.toKernel, `${field}.toKernel`, problems) : null,
    };
  });
  const hostChanges = (input.hosts ?? []).map((c, i) => ({
    c,
    field: `${prefix}.hosts[${i}]`,
    ref: hosts.want(c.host, `${prefix}.hosts[${i}].host`, problems),
  }));
  const tdChanges = (input.tds ?? []).map((c, i) => ({ c, field: `${prefix}.tds[${i}]`, ref: tds.want(c.td, `${prefix}.tds[${i}].td`, problems) }));

  const byKeyOrId = <K extends string>(field: K, keys: string[], ids: number[]) => ({
    OR: [{ [field]: { in: keys } } as Record<K, { in: string[] }>, { id: { in: ids } }],
  });
  await Promise.all([
    modules.load(async (keys, ids) =>
      (await prisma.tdxModule.findMany({ where: byKeyOrId('version', keys, ids), select: { id: true, version: true, generation: true } })).map((r) => ({
        id: r.id,
        key: r.version,
        generation: r.generation,
      })),
    ),
    kernels.load(async (keys, ids) =>
      (await prisma.kernel.findMany({ where: byKeyOrId('name', keys, ids), select: { id: true, name: true, generation: true } })).map((r) => ({
        id: r.id,
        key: r.name,
        generation: r.generation,
      })),
    ),
    hosts.load(async (keys, ids) =>
      (
        await prisma.host.findMany({
          where: byKeyOrId('hostname', keys, ids),
          select: {
            id: true,
            hostname: true,
            generation: true,
            memoryMiB: true,
            reservedMemoryMiB: true,
            platform: { select: { name: true, sockets: true, coresPerSocket: true, threadsPerCore: true } },
          },
        })
      ).map((r) => ({ ...r, key: r.hostname })),
    ),
    tds.load(async (keys, ids) =>
      (await prisma.td.findMany({ where: byKeyOrId('name', keys, ids), select: { id: true, name: true, generation: true } })).map((r) => ({
        ...r,
        key: r.name,
      })),
    ),
  ]);

  const entities = new Map<string, NamedEntity>();
  const named = (entity: NamedEntity['entity'], row: Row): void => {
    entities.set(`${entity}:${row.id}`, { entity, id: row.id, key: row.key, generation: row.generation });
  };
  const ids: WhatIfChanges = { modules: [], kernels: [], hostMoves: [], hosts: [], tds: [] };
  const out: NamedChanges = { modules: [], kernels: [], hostMoves: [], hosts: [], tds: [] };

  for (const { c, field, ref } of moduleChanges) {
    const row = modules.get(ref, c.module, `${field}.module`, problems);
    if (c.maxVcpusPerTd === undefined && c.features == null && c.tdcsPages == null && c.tdvpsPages == null)
      problems.push({ field, message: 'give at least one of maxVcpusPerTd (null: the module stops reporting it), features, tdcsPages and tdvpsPages' });
    else if (c.maxVcpusPerTd != null && (!Number.isInteger(c.maxVcpusPerTd) || c.maxVcpusPerTd < 1 || c.maxVcpusPerTd > 65535))
      problems.push({ field: `${field}.maxVcpusPerTd`, message: `must be 1..65535 or null, got ${c.maxVcpusPerTd}` });
    for (const key of ['tdcsPages', 'tdvpsPages'] as const) {
      const pages = c[key];
      if (pages != null && (!Number.isInteger(pages) || pages < 1 || pages > 1024))
        problems.push({ field: `${field}.${key}`, message: `must be 1..1024, got ${pages}` });
    }
    if (c.features != null && new Set(c.features).size !== c.features.length) problems.push({ field: `${field}.features`, message: 'lists a feature twice' });
    if (row) {
      named('TdxModule', row);
      const change = given({
        maxVcpusPerTd: c.maxVcpusPerTd,
        features: c.features ?? undefined,
        tdcsPages: c.tdcsPages ?? undefined,
        tdvpsPages: c.tdvpsPages ?? undefined,
      });
      ids.modules.push({ moduleId: row.id, ...change });
      out.modules.push({ module: { version: row.key }, ...change });
    }
  }
  for (const { c, field, ref } of kernelChanges) {
    const row = kernels.get(ref, c.kernel, `${field}.kernel`, problems);
    if (c.kvmMaxVcpus != null && (!Number.isInteger(c.kvmMaxVcpus) || c.kvmMaxVcpus < 1 || c.kvmMaxVcpus > 4096))
      problems.push({ field: `${field}.kvmMaxVcpus`, message: `must be 1..4096, got ${c.kvmMaxVcpus}` });
    if (row) {
      named('Kernel', row);
      const change = given({
        tdxVcpuPolicy: c.tdxVcpuPolicy ?? undefined,
        kvmMaxVcpus: c.kvmMaxVcpus ?? undefined,
        tdxInitFailure: c.tdxInitFailure ?? undefined,
        moduleMetadata: c.moduleMetadata ?? undefined,
      });
      ids.kernels.push({ kernelId: row.id, ...change });
      out.kernels.push({ kernel: { name: row.key }, ...change });
    }
  }

  // Hosts selected by module or kernel: one query for every selector.
  const selectedModuleIds = new Set<number>();
  const selectedKernelIds = new Set<number>();
  const resolvedMoves = moves.map((move) => {
    const { m, field } = move;
    const selectors = [m.hosts != null, m.fromModule != null, m.fromKernel != null].filter(Boolean).length;
    if (selectors !== 1) problems.push({ field, message: 'give exactly one of hosts, fromModule and fromKernel' });
    if (m.toModule === undefined && m.toKernel == null) problems.push({ field, message: 'give toModule (null to unload) or toKernel' });
    const listed = move.hosts.map((ref, j) => hosts.get(ref, (m.hosts ?? [])[j]!, `${field}.hosts[${j}]`, problems)).filter((r) => r !== null);
    const fromModule = m.fromModule ? modules.get(move.fromModule, m.fromModule, `${field}.fromModule`, problems) : null;
    const fromKernel = m.fromKernel ? kernels.get(move.fromKernel, m.fromKernel, `${field}.fromKernel`, problems) : null;
    const toModule = m.toModule ? modules.get(move.toModule, m.toModule, `${field}.toModule`, problems) : null;
    const toKernel = m.toKernel ? kernels.get(move.toKernel, m.toKernel, `${field}.toKernel`, problems) : null;
    if (fromModule) selectedModuleIds.add(fromModule.id);
    if (fromKernel) selectedKernelIds.add(fromKernel.id);
    return { m, listed, fromModule, fromKernel, toModule, toKernel };
  });
  const selected =
    selectedModuleIds.size + selectedKernelIds.size > 0
      ? await prisma.host.findMany({
          where: { OR: [{ moduleId: { in: [...selectedModuleIds] } }, { kernelId: { in: [...selectedKernelIds] } }] },
          select: { id: true, hostname: true, generation: true, moduleId: true, kernelId: true },
          orderBy: { id: 'asc' },
        })
      : [];
  const movedHosts: string[][] = [];
  for (const { m, listed, fromModule, fromKernel, toModule, toKernel } of resolvedMoves) {
    const chosen: Row[] = [
      ...listed,
      ...selected
        .filter((h) => (fromModule !== null && h.moduleId === fromModule.id) || (fromKernel !== null && h.kernelId === fromKernel.id))
        .map((h) => ({ id: h.id, key: h.hostname, generation: h.generation })),
    ];
    for (const h of chosen) named('Host', h);
    if (toModule) named('TdxModule', toModule);
    if (toKernel) named('Kernel', toKernel);
    movedHosts.push(chosen.map((h) => h.key));
    ids.hostMoves.push({ hostIds: chosen.map((h) => h.id), moduleId: m.toModule === undefined ? undefined : (toModule?.id ?? null), kernelId: toKernel?.id });
    out.hostMoves.push({
      ...(m.hosts != null ? { hosts: listed.map((h) => ({ hostname: h.key })) } : {}),
      ...(fromModule ? { fromModule: { version: fromModule.key } } : {}),
      ...(fromKernel ? { fromKernel: { name: fromKernel.key } } : {}),
      ...(m.toModule === undefined ? {} : { toModule: toModule ? { version: toModule.key } : null }),
      ...(toKernel ? { toKernel: { name: toKernel.key } } : {}),
    });
  }

  for (const { c, field, ref } of hostChanges) {
    const row = hosts.get(ref, c.host, `${field}.host`, problems);
    if (c.presentCpus == null && c.kvmIntelTdx == null && c.memoryMiB === undefined && c.reservedMemoryMiB == null)
      problems.push({ field, message: 'give at least one of presentCpus, kvmIntelTdx, memoryMiB (null: unknown) and reservedMemoryMiB' });
    if (c.presentCpus != null && (!Number.isInteger(c.presentCpus) || c.presentCpus < 1))
      problems.push({ field: `${field}.presentCpus`, message: `must be positive, got ${c.presentCpus}` });
    else if (row && c.presentCpus != null && c.presentCpus > maxLogicalCpus(row.platform)) {
      problems.push({
        field: `${field}.presentCpus`,
        message: `${c.presentCpus} present CPUs exceed the ${maxLogicalCpus(row.platform)} logical CPUs of platform "${row.platform.name}"`,
      });
    }
    if (row) {
      // The same field rules as the inventory (validation.ts), on the host as it would be.
      const memoryMiB = c.memoryMiB === undefined ? row.memoryMiB : c.memoryMiB;
      const reservedMemoryMiB = c.reservedMemoryMiB ?? row.reservedMemoryMiB;
      const memoryProblems = validateHost({ hostname: 'x', presentCpus: 1, guestKeyIds: 0, allocationRatio: 1, memoryMiB, reservedMemoryMiB }, null);
      problems.push(...memoryProblems.map((p) => ({ ...p, field: `${field}.${p.field}` })));
      named('Host', row);
      const change = given({
        presentCpus: c.presentCpus ?? undefined,
        kvmIntelTdx: c.kvmIntelTdx ?? undefined,
        memoryMiB: c.memoryMiB,
        reservedMemoryMiB: c.reservedMemoryMiB ?? undefined,
      });
      ids.hosts.push({ hostId: row.id, ...change });
      out.hosts.push({ host: { hostname: row.key }, ...change });
    }
  }
  for (const { c, field, ref } of tdChanges) {
    const row = tds.get(ref, c.td, `${field}.td`, problems);
    if (c.memoryMiB === undefined) problems.push({ field: `${field}.memoryMiB`, message: 'is required (null: unknown)' });
    else problems.push(...validateTd({ name: 'x', vcpus: 1, memoryMiB: c.memoryMiB }).map((p) => ({ ...p, field: `${field}.${p.field}` })));
    if (row && c.memoryMiB !== undefined) {
      named('Td', row);
      ids.tds.push({ tdId: row.id, memoryMiB: c.memoryMiB });
      out.tds.push({ td: { name: row.key }, memoryMiB: c.memoryMiB });
    }
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return { ids, named: out, entities: [...entities.values()], movedHosts };
}

/** True when the changes change nothing at all. */
export function noChanges(changes: NamedChanges): boolean {
  return changes.modules.length + changes.kernels.length + changes.hostMoves.length + changes.hosts.length + changes.tds.length === 0;
}

/** Reads changes a scenario stored (written by this module: trusted, but missing lists default to empty). */
export function storedChanges(json: unknown): NamedChanges {
  const o = (json ?? {}) as Partial<NamedChanges>;
  return { modules: o.modules ?? [], kernels: o.kernels ?? [], hostMoves: o.hostMoves ?? [], hosts: o.hosts ?? [], tds: o.tds ?? [] };
}
