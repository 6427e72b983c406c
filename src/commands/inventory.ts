// Create, update and delete of the five inventory entities, as plain functions (database, actor,
// input) that return the written row or throw a domain error (src/errors.ts). One pipeline serves
// all five: each entity only says how to find its row, turn an input into validated facts, write
// them, and what still refers to it. The pipeline does the rest the same way for every entity:
// one transaction, NotFound, the row lock and expected generation, the audit record, and the
// database's refusals mapped to typed errors.
import { auditSnapshot, recordAudit } from '../audit/record.js';
import type { Principal } from '../auth/principal.js';
import { maxLogicalCpus, type MigrationVersions, type ModuleMetadataPolicy, type TdxInitFailure, type TdxVcpuPolicy } from '../capacity/rules.js';
import type { Database, Prisma } from '../db/client.js';
import { NotFoundError, StillReferencedError, ValidationError, type FieldProblem, type Reference } from '../errors.js';
import {
  hostWhere,
  kernelWhere,
  lookupRef,
  moduleWhere,
  platformWhere,
  refKey,
  tdWhere,
  type HostRefShape,
  type KernelRefShape,
  type ModuleRefShape,
  type PlatformRefShape,
  type TdRefShape,
} from '../inventory/refs.js';
import { validateHost, validateKernel, validateModule, validatePlatform, validateTd } from '../inventory/validation.js';
import { migrationVersionColumns, migrationVersionsOf } from '../planning/host-facts.js';
import { assertValid, auditedUpdate, lockForUpdate, mapWriteErrors, withoutNulls, type DeletedEntity, type InventoryEntity, type Tx } from './write.js';

type AnyRef = ModuleRefShape | PlatformRefShape | KernelRefShape | HostRefShape | TdRefShape;

/** Every update input may name the generation it was read at (optimistic concurrency). */
interface Versioned {
  expectedGeneration?: number | null | undefined;
}

/** What one entity contributes to the pipeline. */
interface EntitySpec<Ref extends AnyRef, Create, Update, Current, Row extends { id: number }> {
  entity: InventoryEntity;
  /** The natural key a create input gives (conflicts and the audit trail name it). */
  keyOf(input: Create): string;
  /** The id of the row a reference names, or null. */
  find(tx: Tx, ref: Ref): Promise<{ id: number } | null>;
  /** The row as an update merges into it. */
  load(tx: Tx, id: number): Promise<Current>;
  /** Validates a new entity (every problem at once) and inserts it. */
  create(tx: Tx, input: Create): Promise<Row>;
  /** Merges the given fields into the current row, validates the result and writes it. */
  update(tx: Tx, current: Current, changes: Update): Promise<Row>;
  /** The row's natural key and what refers to it: a delete is refused while anything does. */
  references(tx: Tx, id: number): Promise<{ key: string; references: Reference[] }>;
  remove(tx: Tx, id: number): Promise<unknown>;
}

/** A create inside the caller's transaction (for commands that write several entities at once). */
function createIn<Ref extends AnyRef, Create, Update, Current, Row extends { id: number }>(spec: EntitySpec<Ref, Create, Update, Current, Row>) {
  return async (tx: Tx, actor: Principal, input: Create): Promise<Row> => {
    const row = await spec.create(tx, input);
    await recordAudit(tx, actor, {
      action: 'CREATE',
      entityType: spec.entity,
      entityKey: spec.keyOf(input),
      before: null,
      after: await auditSnapshot(tx, spec.entity, row.id),
    });
    return row;
  };
}

function createWith<Ref extends AnyRef, Create, Update, Current, Row extends { id: number }>(spec: EntitySpec<Ref, Create, Update, Current, Row>) {
  const create = createIn(spec);
  return (db: Database, actor: Principal, input: Create): Promise<Row> =>
    mapWriteErrors(spec.entity, spec.keyOf(input), () => db.prisma.$transaction((tx) => create(tx, actor, input)));
}

/** An update inside the caller's transaction (for commands that write several entities at once). */
function updateIn<Ref extends AnyRef, Create, Update, Current, Row extends { id: number }>(spec: EntitySpec<Ref, Create, Update, Current, Row>) {
  return async (tx: Tx, actor: Principal, ref: Ref, input: Update & Versioned): Promise<Row> => {
    const key = refKey(ref);
    const { expectedGeneration, ...changes } = input;
    const found = await spec.find(tx, ref);
    if (!found) throw new NotFoundError(spec.entity, key);
    await lockForUpdate(tx, spec.entity, found.id, key, expectedGeneration);
    const current = await spec.load(tx, found.id);
    return auditedUpdate(tx, actor, spec.entity, found.id, () => spec.update(tx, current, changes as Update));
  };
}

function updateWith<Ref extends AnyRef, Create, Update, Current, Row extends { id: number }>(spec: EntitySpec<Ref, Create, Update, Current, Row>) {
  const update = updateIn(spec);
  return (db: Database, actor: Principal, ref: Ref, input: Update & Versioned): Promise<Row> =>
    mapWriteErrors(spec.entity, refKey(ref), () => db.prisma.$transaction((tx) => update(tx, actor, ref, input)));
}

function deleteWith<Ref extends AnyRef, Create, Update, Current, Row extends { id: number }>(spec: EntitySpec<Ref, Create, Update, Current, Row>) {
  return (db: Database, actor: Principal, ref: Ref): Promise<DeletedEntity> => {
    const key = refKey(ref);
    return mapWriteErrors(spec.entity, key, () =>
      db.prisma.$transaction(async (tx) => {
        const found = await spec.find(tx, ref);
        if (!found) throw new NotFoundError(spec.entity, key);
        await lockForUpdate(tx, spec.entity, found.id, key, null);
        const row = await spec.references(tx, found.id);
        const references = row.references.filter((r) => r.count > 0);
        if (references.length > 0) throw new StillReferencedError(spec.entity, row.key, references);
        const before = await auditSnapshot(tx, spec.entity, found.id);
        await spec.remove(tx, found.id);
        await recordAudit(tx, actor, { action: 'DELETE', entityType: spec.entity, entityKey: row.key, before, after: null });
        return { entity: spec.entity, id: found.id };
      }),
    );
  };
}

// ---- platforms --------------------------------------------------------------------------------

export interface PlatformInput {
  name: string;
  sockets: number;
  coresPerSocket: number;
  threadsPerCore: number;
}
export type PlatformChanges = { [K in keyof PlatformInput]?: PlatformInput[K] | null };
type PlatformRow = Prisma.PlatformGetPayload<object>;

const platformSpec: EntitySpec<PlatformRefShape, PlatformInput, PlatformChanges, PlatformRow, PlatformRow> = {
  entity: 'Platform',
  keyOf: (input) => input.name,
  find: (tx, ref) => tx.platform.findUnique({ where: platformWhere(ref), select: { id: true } }),
  load: (tx, id) => tx.platform.findUniqueOrThrow({ where: { id } }),
  create: (tx, input) => {
    assertValid(validatePlatform(input));
    return tx.platform.create({ data: input });
  },
  async update(tx, current, changes) {
    const given = withoutNulls(changes);
    const next = { ...current, ...given };
    const problems = validatePlatform(next);
    // The one rule that spans tables: no host may present more CPUs than the new topology has.
    const largestHost = await tx.host.aggregate({ where: { platformId: current.id }, _max: { presentCpus: true } });
    const logical = maxLogicalCpus(next);
    if ((largestHost._max.presentCpus ?? 0) > logical) {
      problems.push({
        field: 'input',
        message: `a host of this platform presents ${largestHost._max.presentCpus} CPUs, more than the ${logical} logical CPUs of the new topology`,
      });
    }
    assertValid(problems);
    return tx.platform.update({ where: { id: current.id }, data: given });
  },
  async references(tx, id) {
    const row = await tx.platform.findUniqueOrThrow({ where: { id }, include: { _count: { select: { hosts: true } } } });
    return { key: row.name, references: [{ entity: 'Host', count: row._count.hosts }] };
  },
  remove: (tx, id) => tx.platform.delete({ where: { id } }),
};

export const createPlatform = createWith(platformSpec);
export const updatePlatform = updateWith(platformSpec);
export const deletePlatform = deleteWith(platformSpec);

// ---- kernels ----------------------------------------------------------------------------------

export interface KernelInput {
  name: string;
  kvmMaxVcpus: number;
  tdxVcpuPolicy: TdxVcpuPolicy;
  /** Absent or null: FAIL_KVM_LOAD (mainline). */
  tdxInitFailure?: TdxInitFailure | null;
  /** Absent or null: STRICT (mainline). */
  moduleMetadata?: ModuleMetadataPolicy | null;
}
export type KernelChanges = { [K in keyof KernelInput]?: KernelInput[K] | null };

/** R1 v2: a new kernel behaves as mainline unless told otherwise. */
const MAINLINE_KERNEL_DEFAULTS = { tdxInitFailure: 'FAIL_KVM_LOAD', moduleMetadata: 'STRICT' } as const;
type KernelRow = Prisma.KernelGetPayload<object>;

const kernelSpec: EntitySpec<KernelRefShape, KernelInput, KernelChanges, KernelRow, KernelRow> = {
  entity: 'Kernel',
  keyOf: (input) => input.name,
  find: (tx, ref) => tx.kernel.findUnique({ where: kernelWhere(ref), select: { id: true } }),
  load: (tx, id) => tx.kernel.findUniqueOrThrow({ where: { id } }),
  create: (tx, input) => {
    const facts = {
      name: input.name,
      kvmMaxVcpus: input.kvmMaxVcpus,
      tdxVcpuPolicy: input.tdxVcpuPolicy,
      tdxInitFailure: input.tdxInitFailure ?? MAINLINE_KERNEL_DEFAULTS.tdxInitFailure,
      moduleMetadata: input.moduleMetadata ?? MAINLINE_KERNEL_DEFAULTS.moduleMetadata,
    };
    assertValid(validateKernel(facts));
    return tx.kernel.create({ data: facts });
  },
  update: (tx, current, changes) => {
    const given = withoutNulls(changes);
    assertValid(validateKernel({ ...current, ...given }));
    return tx.kernel.update({ where: { id: current.id }, data: given });
  },
  async references(tx, id) {
    const row = await tx.kernel.findUniqueOrThrow({ where: { id }, include: { _count: { select: { hosts: true } } } });
    return { key: row.name, references: [{ entity: 'Host', count: row._count.hosts }] };
  },
  remove: (tx, id) => tx.kernel.delete({ where: { id } }),
};

export const createKernel = createWith(kernelSpec);
export const updateKernel = updateWith(kernelSpec);
export const deleteKernel = deleteWith(kernelSpec);

// ---- TDX modules ------------------------------------------------------------------------------

type TdxFeature = Prisma.TdxModuleCreateInput['features'] extends infer F ? (F extends readonly (infer E)[] ? E : never) : never;

export interface ModuleInput {
  version: string;
  maxVcpusPerTd?: number | null;
  features?: TdxFeature[] | null;
  supportedPlatforms?: PlatformRefShape[] | null;
  /** Absent or null: no TD-migration support. */
  migration?: MigrationVersions | null;
  /** R7: absent or null: 6. */
  tdcsPages?: number | null;
  /** R7: absent or null: 6. */
  tdvpsPages?: number | null;
}
/** Absent fields keep their value; `maxVcpusPerTd: null` and `migration: null` clear them. */
export interface ModuleChanges {
  version?: string | null;
  maxVcpusPerTd?: number | null;
  features?: TdxFeature[] | null;
  /** Replaces the whole list. */
  supportedPlatforms?: PlatformRefShape[] | null;
  migration?: MigrationVersions | null;
  tdcsPages?: number | null;
  tdvpsPages?: number | null;
}
type ModuleRow = Prisma.TdxModuleGetPayload<object>;

/** Platform ids for references, in one query; unknown ones are validation problems. */
async function platformIds(tx: Tx, refs: readonly PlatformRefShape[]): Promise<{ ids: number[]; problems: FieldProblem[] }> {
  const problems: FieldProblem[] = [];
  const wheres = refs.map((ref, i) => {
    try {
      return platformWhere(ref, `supportedPlatforms[${i}]`);
    } catch (err) {
      if (err instanceof ValidationError) problems.push(...err.problems);
      return null;
    }
  });
  const rows = await tx.platform.findMany({ where: { OR: wheres.filter((w) => w !== null) }, select: { id: true, name: true } });
  const ids: number[] = [];
  wheres.forEach((where, i) => {
    if (!where) return;
    const row = rows.find((r) => (where.id !== undefined ? r.id === where.id : r.name === where.name));
    if (row) ids.push(row.id);
    else problems.push({ field: `supportedPlatforms[${i}]`, message: `unknown platform "${refKey(refs[i] ?? {})}"` });
  });
  return { ids: [...new Set(ids)], problems };
}

const moduleSpec: EntitySpec<ModuleRefShape, ModuleInput, ModuleChanges, ModuleRow, ModuleRow> = {
  entity: 'TdxModule',
  keyOf: (input) => input.version,
  find: (tx, ref) => tx.tdxModule.findUnique({ where: moduleWhere(ref), select: { id: true } }),
  load: (tx, id) => tx.tdxModule.findUniqueOrThrow({ where: { id } }),
  async create(tx, input) {
    const facts = {
      version: input.version,
      maxVcpusPerTd: input.maxVcpusPerTd ?? null,
      features: input.features ?? [],
      migration: input.migration ?? null,
      // TDX 1.5.01's TDCS and TDVPS sizes (shared/domain.md, v2).
      tdcsPages: input.tdcsPages ?? 6,
      tdvpsPages: input.tdvpsPages ?? 6,
    };
    const supported = await platformIds(tx, input.supportedPlatforms ?? []);
    assertValid([...validateModule(facts), ...supported.problems]);
    return tx.tdxModule.create({
      data: {
        version: facts.version,
        maxVcpusPerTd: facts.maxVcpusPerTd,
        features: facts.features,
        tdcsPages: facts.tdcsPages,
        tdvpsPages: facts.tdvpsPages,
        ...migrationVersionColumns(facts.migration),
        platforms: { create: supported.ids.map((platformId) => ({ platformId })) },
      },
    });
  },
  async update(tx, current, changes) {
    const facts = {
      version: changes.version ?? current.version,
      maxVcpusPerTd: changes.maxVcpusPerTd === undefined ? current.maxVcpusPerTd : changes.maxVcpusPerTd,
      features: changes.features ?? current.features,
      migration: changes.migration === undefined ? migrationVersionsOf(current) : changes.migration,
      tdcsPages: changes.tdcsPages ?? current.tdcsPages,
      tdvpsPages: changes.tdvpsPages ?? current.tdvpsPages,
    };
    const supported = changes.supportedPlatforms ? await platformIds(tx, changes.supportedPlatforms) : null;
    assertValid([...validateModule(facts), ...(supported?.problems ?? [])]);
    if (supported) await tx.modulePlatform.deleteMany({ where: { moduleId: current.id } });
    return tx.tdxModule.update({
      where: { id: current.id },
      data: {
        version: facts.version,
        maxVcpusPerTd: facts.maxVcpusPerTd,
        features: facts.features,
        tdcsPages: facts.tdcsPages,
        tdvpsPages: facts.tdvpsPages,
        ...migrationVersionColumns(facts.migration),
        ...(supported ? { platforms: { create: supported.ids.map((platformId) => ({ platformId })) } } : {}),
      },
    });
  },
  async references(tx, id) {
    const row = await tx.tdxModule.findUniqueOrThrow({ where: { id }, include: { _count: { select: { hosts: true } } } });
    return { key: row.version, references: [{ entity: 'Host', count: row._count.hosts }] };
  },
  remove: (tx, id) => tx.tdxModule.delete({ where: { id } }),
};

export const createModule = createWith(moduleSpec);
export const updateModule = updateWith(moduleSpec);
export const deleteModule = deleteWith(moduleSpec);

// ---- hosts ------------------------------------------------------------------------------------

export interface HostInput {
  hostname: string;
  platform: PlatformRefShape;
  /** Absent or null: no module loaded. */
  module?: ModuleRefShape | null;
  kernel: KernelRefShape;
  presentCpus: number;
  guestKeyIds: number;
  allocationRatio?: number | null;
  /** kvm_intel.tdx; absent or null: true. */
  kvmIntelTdx?: boolean | null;
  /** R7: absent or null: unknown. */
  memoryMiB?: number | null;
  /** R7: absent or null: 0. */
  reservedMemoryMiB?: number | null;
}
/** Absent fields keep their value; `module: null` unloads the module, `memoryMiB: null` forgets the memory. */
export interface HostChanges {
  hostname?: string | null;
  platform?: PlatformRefShape | null;
  module?: ModuleRefShape | null;
  kernel?: KernelRefShape | null;
  presentCpus?: number | null;
  guestKeyIds?: number | null;
  allocationRatio?: number | null;
  kvmIntelTdx?: boolean | null;
  memoryMiB?: number | null;
  reservedMemoryMiB?: number | null;
}
type HostRow = Prisma.HostGetPayload<object>;
type HostCurrent = Prisma.HostGetPayload<{ include: { platform: true } }>;

const platformOf = (tx: Tx, ref: PlatformRefShape, problems: FieldProblem[]) =>
  lookupRef(problems, 'platform', 'platform', refKey(ref), () => tx.platform.findUnique({ where: platformWhere(ref) }));
const moduleIdOf = (tx: Tx, ref: ModuleRefShape, problems: FieldProblem[]) =>
  lookupRef(problems, 'module', 'module', refKey(ref), () => tx.tdxModule.findUnique({ where: moduleWhere(ref), select: { id: true } }));
const kernelIdOf = (tx: Tx, ref: KernelRefShape, problems: FieldProblem[]) =>
  lookupRef(problems, 'kernel', 'kernel', refKey(ref), () => tx.kernel.findUnique({ where: kernelWhere(ref), select: { id: true } }));

const hostSpec: EntitySpec<HostRefShape, HostInput, HostChanges, HostCurrent, HostRow> = {
  entity: 'Host',
  keyOf: (input) => input.hostname,
  find: (tx, ref) => tx.host.findUnique({ where: hostWhere(ref), select: { id: true } }),
  load: (tx, id) => tx.host.findUniqueOrThrow({ where: { id }, include: { platform: true } }),
  async create(tx, input) {
    const problems: FieldProblem[] = [];
    const platform = await platformOf(tx, input.platform, problems);
    const module = input.module ? await moduleIdOf(tx, input.module, problems) : null;
    const kernel = await kernelIdOf(tx, input.kernel, problems);
    const facts = {
      hostname: input.hostname,
      presentCpus: input.presentCpus,
      guestKeyIds: input.guestKeyIds,
      allocationRatio: input.allocationRatio ?? 1.0,
      kvmIntelTdx: input.kvmIntelTdx ?? true,
      memoryMiB: input.memoryMiB ?? null,
      reservedMemoryMiB: input.reservedMemoryMiB ?? 0,
    };
    problems.push(...validateHost(facts, platform));
    assertValid(problems);
    return tx.host.create({ data: { ...facts, platformId: platform!.id, moduleId: module?.id ?? null, kernelId: kernel!.id } });
  },
  async update(tx, current, changes) {
    const problems: FieldProblem[] = [];
    const platform = changes.platform ? await platformOf(tx, changes.platform, problems) : current.platform;
    const module =
      changes.module === undefined ? { id: current.moduleId } : changes.module === null ? { id: null } : await moduleIdOf(tx, changes.module, problems);
    const kernel = changes.kernel ? await kernelIdOf(tx, changes.kernel, problems) : { id: current.kernelId };
    const facts = {
      hostname: changes.hostname ?? current.hostname,
      presentCpus: changes.presentCpus ?? current.presentCpus,
      guestKeyIds: changes.guestKeyIds ?? current.guestKeyIds,
      allocationRatio: changes.allocationRatio ?? current.allocationRatio,
      kvmIntelTdx: changes.kvmIntelTdx ?? current.kvmIntelTdx,
      memoryMiB: changes.memoryMiB === undefined ? current.memoryMiB : changes.memoryMiB,
      reservedMemoryMiB: changes.reservedMemoryMiB ?? current.reservedMemoryMiB,
    };
    problems.push(...validateHost(facts, platform));
    assertValid(problems);
    return tx.host.update({ where: { id: current.id }, data: { ...facts, platformId: platform!.id, moduleId: module!.id, kernelId: kernel!.id } });
  },
  async references(tx, id) {
    const row = await tx.host.findUniqueOrThrow({ where: { id }, include: { _count: { select: { tds: true } } } });
    return { key: row.hostname, references: [{ entity: 'Td', count: row._count.tds }] };
  },
  remove: (tx, id) => tx.host.delete({ where: { id } }),
};

export const createHost = createWith(hostSpec);
export const updateHost = updateWith(hostSpec);
export const deleteHost = deleteWith(hostSpec);

/** Host and kernel writes inside a caller's transaction: `tdplan probe --apply` writes both or neither. */
export const createKernelIn = createIn(kernelSpec);
export const createHostIn = createIn(hostSpec);
export const updateHostIn = updateIn(hostSpec);

// ---- TDs --------------------------------------------------------------------------------------

export interface TdInput {
  name: string;
  vcpus: number;
  /** Where it runs; absent or null for a planned TD. Recorded as a fact, without a capacity check (see placeTd). */
  host?: HostRefShape | null;
  migratable?: boolean | null;
  /** R7: private memory; absent or null: unknown. */
  memoryMiB?: number | null;
}
/** Absent fields keep their value; `host: null` makes the TD planned, `memoryMiB: null` forgets its memory. */
export interface TdChanges {
  name?: string | null;
  vcpus?: number | null;
  host?: HostRefShape | null;
  migratable?: boolean | null;
  memoryMiB?: number | null;
}
type TdRow = Prisma.TdGetPayload<object>;

async function hostIdOf(tx: Tx, ref: HostRefShape, problems: FieldProblem[]): Promise<number | null> {
  const row = await lookupRef(problems, 'host', 'host', refKey(ref), () => tx.host.findUnique({ where: hostWhere(ref), select: { id: true } }));
  return row?.id ?? null;
}

const tdSpec: EntitySpec<TdRefShape, TdInput, TdChanges, TdRow, TdRow> = {
  entity: 'Td',
  keyOf: (input) => input.name,
  find: (tx, ref) => tx.td.findUnique({ where: tdWhere(ref), select: { id: true } }),
  load: (tx, id) => tx.td.findUniqueOrThrow({ where: { id } }),
  async create(tx, input) {
    const problems: FieldProblem[] = [];
    const hostId = input.host ? await hostIdOf(tx, input.host, problems) : null;
    const facts = { name: input.name, vcpus: input.vcpus, migratable: input.migratable ?? true, memoryMiB: input.memoryMiB ?? null };
    problems.push(...validateTd(facts));
    assertValid(problems);
    return tx.td.create({ data: { ...facts, hostId } });
  },
  async update(tx, current, changes) {
    const problems: FieldProblem[] = [];
    const hostId = changes.host === undefined ? current.hostId : changes.host === null ? null : await hostIdOf(tx, changes.host, problems);
    const facts = {
      name: changes.name ?? current.name,
      vcpus: changes.vcpus ?? current.vcpus,
      migratable: changes.migratable ?? current.migratable,
      memoryMiB: changes.memoryMiB === undefined ? current.memoryMiB : changes.memoryMiB,
    };
    problems.push(...validateTd(facts));
    assertValid(problems);
    return tx.td.update({ where: { id: current.id }, data: { ...facts, hostId } });
  },
  async references(tx, id) {
    const row = await tx.td.findUniqueOrThrow({ where: { id }, select: { name: true } });
    return { key: row.name, references: [] };
  },
  remove: (tx, id) => tx.td.delete({ where: { id } }),
};

export const createTd = createWith(tdSpec);
export const updateTd = updateWith(tdSpec);
export const deleteTd = deleteWith(tdSpec);
