// The inventory document: the fleet as data (schemas/inventory.schema.json). Structural checks
// come from the published JSON Schema (ajv), semantic ones (duplicates, references, field rules)
// from src/inventory/validation.ts; every problem is reported with its JSON path.
import { readFileSync } from 'node:fs';
import Ajv2020, { type ErrorObject } from 'ajv/dist/2020.js';
import type { ModuleMetadataPolicy, TdxInitFailure, TdxVcpuPolicy } from '../capacity/rules.js';
import type { FieldProblem } from '../errors.js';
import { validateHost, validateKernel, validateModule, validatePlatform, validateTd, type PlatformFields, type TdxFeatureName } from './validation.js';

export interface PlatformDoc {
  name: string;
  sockets: number;
  coresPerSocket: number;
  threadsPerCore: number;
}
export interface MigrationDoc {
  minExportVersion: number;
  maxExportVersion: number;
  minImportVersion: number;
  maxImportVersion: number;
}
export interface ModuleDoc {
  version: string;
  maxVcpusPerTd: number | null;
  features: TdxFeatureName[];
  platforms: string[];
  migration?: MigrationDoc;
  /** R7: 4 KiB TDCS pages per TD (default 6). */
  tdcsPages: number;
  /** R7: 4 KiB TDVPS pages per vCPU (default 6). */
  tdvpsPages: number;
}
export interface KernelDoc {
  name: string;
  kvmMaxVcpus: number;
  tdxVcpuPolicy: TdxVcpuPolicy;
  /** Default FAIL_KVM_LOAD (mainline). */
  tdxInitFailure: TdxInitFailure;
  /** Default STRICT (mainline). */
  moduleMetadata: ModuleMetadataPolicy;
}
export interface HostDoc {
  hostname: string;
  platform: string;
  module: string | null;
  kernel: string;
  presentCpus: number;
  guestKeyIds: number;
  allocationRatio: number;
  /** kvm_intel.tdx (default true). */
  kvmIntelTdx: boolean;
  /** RAM in MiB; null when unknown (default). */
  memoryMiB: number | null;
  /** Default 0. */
  reservedMemoryMiB: number;
}
export interface TdDoc {
  name: string;
  vcpus: number;
  host: string | null;
  migratable: boolean;
  /** Private memory in MiB; null when unknown (default). */
  memoryMiB: number | null;
}
export interface InventoryDocument {
  platforms: PlatformDoc[];
  modules: ModuleDoc[];
  kernels: KernelDoc[];
  hosts: HostDoc[];
  tds: TdDoc[];
}

export const inventoryJsonSchema: Record<string, unknown> = JSON.parse(
  readFileSync(new URL('../../schemas/inventory.schema.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

const ajv = new Ajv2020({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true });
const validateStructure = ajv.compile<InventoryDocument>(inventoryJsonSchema);

/** `/hosts/3/platform` -> `hosts[3].platform` */
function jsonPath(pointer: string, extra?: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) parts.push(extra);
  return parts.reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '') || '(document)';
}

function structuralProblem(e: ErrorObject): FieldProblem {
  switch (e.keyword) {
    case 'required':
      return { field: jsonPath(e.instancePath, String(e.params.missingProperty)), message: 'is required' };
    case 'additionalProperties':
      return { field: jsonPath(e.instancePath, String(e.params.additionalProperty)), message: 'is not a known property' };
    case 'enum':
      return { field: jsonPath(e.instancePath), message: `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    default:
      return { field: jsonPath(e.instancePath), message: e.message ?? e.keyword };
  }
}

// Keywords whose failure leaves the document's shape sound: the semantic checks can still run
// and report the rest (they cover the same ranges, with the numbers in the message).
const SHAPE_PRESERVING = new Set(['minimum', 'maximum', 'exclusiveMinimum', 'pattern', 'minLength', 'maxLength', 'uniqueItems', 'enum']);

export interface ParseResult {
  /** The document with defaults filled in, when its shape is sound enough to check further. */
  document: InventoryDocument | null;
  errors: FieldProblem[];
}

/** Checks the document's shape and fills in defaults; the input is not modified. */
export function parseInventoryDocument(input: unknown): ParseResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { document: null, errors: [{ field: '(document)', message: 'must be a JSON object' }] };
  }
  const copy = structuredClone(input);
  if (validateStructure(copy)) return { document: copy, errors: [] };
  const raw = validateStructure.errors ?? [];
  const shapeSound = raw.every((e) => SHAPE_PRESERVING.has(e.keyword));
  return { document: shapeSound ? (copy as InventoryDocument) : null, errors: raw.map(structuralProblem) };
}

/** Structural and semantic problems together; where both speak of one path, the semantic message (with numbers) wins. */
export function mergeProblems(structural: FieldProblem[], semantic: FieldProblem[]): FieldProblem[] {
  const semanticFields = new Set(semantic.map((p) => p.field));
  return [...structural.filter((p) => !semanticFields.has(p.field)), ...semantic];
}

/** Entities already in the database that a MERGE document may refer to without listing them. */
export interface KnownEntities {
  platforms: ReadonlyMap<string, PlatformFields>;
  modules: ReadonlySet<string>;
  kernels: ReadonlySet<string>;
  hosts: ReadonlySet<string>;
}

export const NO_KNOWN_ENTITIES: KnownEntities = { platforms: new Map(), modules: new Set(), kernels: new Set(), hosts: new Set() };

function at(path: string, problems: FieldProblem[]): FieldProblem[] {
  return problems.map((p) => ({ field: `${path}.${p.field}`, message: p.message }));
}

function duplicates<T>(items: readonly T[], key: (item: T) => string, list: string, field: string): FieldProblem[] {
  const first = new Map<string, number>();
  const problems: FieldProblem[] = [];
  items.forEach((item, i) => {
    const k = key(item);
    const seen = first.get(k);
    if (seen === undefined) first.set(k, i);
    else problems.push({ field: `${list}[${i}].${field}`, message: `duplicate of ${list}[${seen}] ("${k}")` });
  });
  return problems;
}

/**
 * Everything wrong with a well-formed document: field rules, duplicate natural keys, and
 * references to entities neither in the document nor (MERGE) in the database.
 */
export function semanticProblems(doc: InventoryDocument, known: KnownEntities): FieldProblem[] {
  const problems: FieldProblem[] = [
    ...duplicates(doc.platforms, (p) => p.name, 'platforms', 'name'),
    ...duplicates(doc.modules, (m) => m.version, 'modules', 'version'),
    ...duplicates(doc.kernels, (k) => k.name, 'kernels', 'name'),
    ...duplicates(doc.hosts, (h) => h.hostname, 'hosts', 'hostname'),
    ...duplicates(doc.tds, (t) => t.name, 'tds', 'name'),
  ];
  const platforms = new Map<string, PlatformFields>(known.platforms);
  doc.platforms.forEach((p, i) => {
    problems.push(...at(`platforms[${i}]`, validatePlatform(p)));
    platforms.set(p.name, p);
  });
  const modules = new Set([...known.modules, ...doc.modules.map((m) => m.version)]);
  const kernels = new Set([...known.kernels, ...doc.kernels.map((k) => k.name)]);
  const hosts = new Set([...known.hosts, ...doc.hosts.map((h) => h.hostname)]);
  doc.modules.forEach((m, i) => {
    problems.push(...at(`modules[${i}]`, validateModule({ ...m, migration: m.migration ?? null })));
    m.platforms.forEach((name, j) => {
      if (!platforms.has(name)) problems.push({ field: `modules[${i}].platforms[${j}]`, message: `unknown platform "${name}"` });
    });
  });
  doc.kernels.forEach((k, i) => problems.push(...at(`kernels[${i}]`, validateKernel(k))));
  doc.hosts.forEach((h, i) => {
    const platform = platforms.get(h.platform) ?? null;
    if (!platform) problems.push({ field: `hosts[${i}].platform`, message: `unknown platform "${h.platform}"` });
    if (h.module !== null && !modules.has(h.module)) problems.push({ field: `hosts[${i}].module`, message: `unknown module "${h.module}"` });
    if (!kernels.has(h.kernel)) problems.push({ field: `hosts[${i}].kernel`, message: `unknown kernel "${h.kernel}"` });
    problems.push(...at(`hosts[${i}]`, validateHost(h, platform)));
  });
  doc.tds.forEach((t, i) => {
    if (t.host !== null && !hosts.has(t.host)) problems.push({ field: `tds[${i}].host`, message: `unknown host "${t.host}"` });
    problems.push(...at(`tds[${i}]`, validateTd(t)));
  });
  return problems;
}

// Code-point order, the same as PostgreSQL's "C" collation used by export.
const byKey =
  <T>(key: (item: T) => string) =>
  (a: T, b: T): number => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };

/** The canonical form export produces: arrays sorted by natural key, every default explicit. */
export function normalizeInventoryDocument(doc: InventoryDocument): InventoryDocument {
  return {
    platforms: [...doc.platforms]
      .sort(byKey((p) => p.name))
      .map((p) => ({ name: p.name, sockets: p.sockets, coresPerSocket: p.coresPerSocket, threadsPerCore: p.threadsPerCore })),
    modules: [...doc.modules].sort(byKey((m) => m.version)).map((m) => ({
      version: m.version,
      maxVcpusPerTd: m.maxVcpusPerTd ?? null,
      features: [...m.features].sort(),
      platforms: [...m.platforms].sort(),
      ...(m.migration ? { migration: { ...m.migration } } : {}),
      tdcsPages: m.tdcsPages ?? 6,
      tdvpsPages: m.tdvpsPages ?? 6,
    })),
    kernels: [...doc.kernels].sort(byKey((k) => k.name)).map((k) => ({
      name: k.name,
      kvmMaxVcpus: k.kvmMaxVcpus,
      tdxVcpuPolicy: k.tdxVcpuPolicy,
      tdxInitFailure: k.tdxInitFailure ?? 'FAIL_KVM_LOAD',
      moduleMetadata: k.moduleMetadata ?? 'STRICT',
    })),
    hosts: [...doc.hosts].sort(byKey((h) => h.hostname)).map((h) => ({
      hostname: h.hostname,
      platform: h.platform,
      module: h.module ?? null,
      kernel: h.kernel,
      presentCpus: h.presentCpus,
      guestKeyIds: h.guestKeyIds,
      allocationRatio: h.allocationRatio ?? 1,
      kvmIntelTdx: h.kvmIntelTdx ?? true,
      memoryMiB: h.memoryMiB ?? null,
      reservedMemoryMiB: h.reservedMemoryMiB ?? 0,
    })),
    tds: [...doc.tds]
      .sort(byKey((t) => t.name))
      .map((t) => ({ name: t.name, vcpus: t.vcpus, host: t.host ?? null, migratable: t.migratable ?? true, memoryMiB: t.memoryMiB ?? null })),
  };
}
