// Field rules of the inventory, shared by the GraphQL mutations and the document import. They
// mirror the database's CHECK constraints (prisma/migrations) so clients get every problem at
// once, by field, instead of the database's first refusal; plus the one rule that spans tables:
// a host cannot present more CPUs than its platform has.
import type { FieldProblem } from '../errors.js';
import { maxLogicalCpus, MODULE_METADATA_POLICIES, TDX_INIT_FAILURES, U16_MAX } from '../capacity/rules.js';

export const MODULE_VERSION_PATTERN = /^[0-9]+(\.[0-9]+){1,4}$/;
/** KVM_MAX_VCPUS is at most 4096 (CONFIG_KVM_MAX_NR_VCPUS). */
export const KVM_MAX_VCPUS_LIMIT = 4096;
export const MAX_ALLOCATION_RATIO = 64;
export const TDX_FEATURES = ['TOPOLOGY_ENUM', 'NO_RBP_MOD'] as const;
export type TdxFeatureName = (typeof TDX_FEATURES)[number];
export const TDX_VCPU_POLICIES = ['PRESENT_CPUS', 'MODULE_LIMIT'] as const;
/** R7: a module's TDCS / TDVPS page counts (the CHECK constraints' range). */
export const MAX_CONTROL_PAGES = 1024;
/** R7: 64 TiB, far above any host of today, so a typo (GiB for MiB x 1024) is caught. */
export const MAX_MEMORY_MIB = 64 * 1024 * 1024;

type Check = [ok: boolean, field: string, message: string];

function problems(checks: Check[]): FieldProblem[] {
  return checks.filter(([ok]) => !ok).map(([, field, message]) => ({ field, message }));
}

const isPositiveInt = (n: number): boolean => Number.isInteger(n) && n > 0;
const isNonNegativeInt = (n: number): boolean => Number.isInteger(n) && n >= 0;

/**
 * A valid name (of a platform, kernel, host or TD), the same in the API, the import and the JSON
 * Schema (`$defs/name`): 1 to 253 characters (a DNS name's limit); no control characters (Unicode
 * Cc: NUL, tab, newline, escape, ...) nor line or paragraph separators; well-formed Unicode (no
 * lone surrogate, which PostgreSQL would store as U+FFFD, so the name given would find nothing);
 * no space at either end. Anything else is visible, printable and matches itself.
 */
export const NAME_MAX_LENGTH = 253;
/** The JSON Schema's `pattern` for names (ajv compiles it with the `u` flag, as here). */
export const NAME_PATTERN = /^(?!\s)[^\p{Cc}\p{Cs}\p{Zl}\p{Zp}]*(?<!\s)$/u;
const FORBIDDEN_CHARACTER = /[\p{Cc}\p{Zl}\p{Zp}]/u;
const LONE_SURROGATE = /\p{Cs}/u;

const codePoint = (c: string): string => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** What is wrong with `name` as a name, or null when it is a valid one. */
export function nameProblem(name: string): string | null {
  if (name.trim().length === 0) return 'must not be blank';
  const length = [...name].length;
  if (length > NAME_MAX_LENGTH) return `must be at most ${NAME_MAX_LENGTH} characters, got ${length}`;
  const forbidden = FORBIDDEN_CHARACTER.exec(name);
  if (forbidden) return `must not contain control characters or line breaks, got ${codePoint(forbidden[0])} at position ${forbidden.index}`;
  const lone = LONE_SURROGATE.exec(name);
  if (lone) return `must be well-formed Unicode, got a lone surrogate ${codePoint(lone[0])} at position ${lone.index}`;
  if (name.trim() !== name) return 'must not begin or end with a space';
  return null;
}

export function isValidName(name: string): boolean {
  return nameProblem(name) === null;
}

const nameCheck = (name: string, field: string): Check => {
  const problem = nameProblem(name);
  return [problem === null, field, problem ?? ''];
};

export interface PlatformFields {
  name: string;
  sockets: number;
  coresPerSocket: number;
  threadsPerCore: number;
}

export function validatePlatform(p: PlatformFields): FieldProblem[] {
  return problems([
    nameCheck(p.name, 'name'),
    [isPositiveInt(p.sockets), 'sockets', `must be a positive integer, got ${p.sockets}`],
    [isPositiveInt(p.coresPerSocket), 'coresPerSocket', `must be a positive integer, got ${p.coresPerSocket}`],
    [isPositiveInt(p.threadsPerCore), 'threadsPerCore', `must be a positive integer, got ${p.threadsPerCore}`],
  ]);
}

export interface MigrationFields {
  minExportVersion: number;
  maxExportVersion: number;
  minImportVersion: number;
  maxImportVersion: number;
}

export interface ModuleFields {
  version: string;
  maxVcpusPerTd: number | null;
  features: readonly string[];
  migration: MigrationFields | null;
  tdcsPages: number;
  tdvpsPages: number;
}

const isPageCount = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= MAX_CONTROL_PAGES;
const isMemoryMiB = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= MAX_MEMORY_MIB;

export function validateModule(m: ModuleFields): FieldProblem[] {
  const checks: Check[] = [
    [MODULE_VERSION_PATTERN.test(m.version), 'version', `must look like 1.5.06.00.0744 (2 to 5 dot-separated numbers), got "${m.version}"`],
    [
      m.maxVcpusPerTd === null || (Number.isInteger(m.maxVcpusPerTd) && m.maxVcpusPerTd >= 1 && m.maxVcpusPerTd <= U16_MAX),
      'maxVcpusPerTd',
      `must be 1..${U16_MAX} (a u16) or null, got ${m.maxVcpusPerTd}`,
    ],
    ...m.features.map((f, i): Check => [(TDX_FEATURES as readonly string[]).includes(f), `features[${i}]`, `unknown feature "${f}"`]),
    [new Set(m.features).size === m.features.length, 'features', 'lists a feature twice'],
    [isPageCount(m.tdcsPages), 'tdcsPages', `must be 1..${MAX_CONTROL_PAGES} (4 KiB pages), got ${m.tdcsPages}`],
    [isPageCount(m.tdvpsPages), 'tdvpsPages', `must be 1..${MAX_CONTROL_PAGES} (4 KiB pages), got ${m.tdvpsPages}`],
  ];
  const mig = m.migration;
  if (mig) {
    for (const key of ['minExportVersion', 'maxExportVersion', 'minImportVersion', 'maxImportVersion'] as const) {
      checks.push([isNonNegativeInt(mig[key]), `migration.${key}`, `must be a non-negative integer, got ${mig[key]}`]);
    }
    checks.push(
      [
        mig.minExportVersion <= mig.maxExportVersion,
        'migration.maxExportVersion',
        `must be >= minExportVersion (${mig.minExportVersion}), got ${mig.maxExportVersion}`,
      ],
      [
        mig.minImportVersion <= mig.maxImportVersion,
        'migration.maxImportVersion',
        `must be >= minImportVersion (${mig.minImportVersion}), got ${mig.maxImportVersion}`,
      ],
    );
  }
  return problems(checks);
}

export interface KernelFields {
  name: string;
  kvmMaxVcpus: number;
  tdxVcpuPolicy: string;
  tdxInitFailure: string;
  moduleMetadata: string;
}

export function validateKernel(k: KernelFields): FieldProblem[] {
  return problems([
    nameCheck(k.name, 'name'),
    [
      Number.isInteger(k.kvmMaxVcpus) && k.kvmMaxVcpus >= 1 && k.kvmMaxVcpus <= KVM_MAX_VCPUS_LIMIT,
      'kvmMaxVcpus',
      `must be 1..${KVM_MAX_VCPUS_LIMIT} (KVM_MAX_VCPUS), got ${k.kvmMaxVcpus}`,
    ],
    [(TDX_VCPU_POLICIES as readonly string[]).includes(k.tdxVcpuPolicy), 'tdxVcpuPolicy', `must be PRESENT_CPUS or MODULE_LIMIT, got "${k.tdxVcpuPolicy}"`],
    [(TDX_INIT_FAILURES as readonly string[]).includes(k.tdxInitFailure), 'tdxInitFailure', `must be FAIL_KVM_LOAD or DISABLE_TDX, got "${k.tdxInitFailure}"`],
    [(MODULE_METADATA_POLICIES as readonly string[]).includes(k.moduleMetadata), 'moduleMetadata', `must be STRICT or LENIENT, got "${k.moduleMetadata}"`],
  ]);
}

export interface HostFields {
  hostname: string;
  presentCpus: number;
  guestKeyIds: number;
  allocationRatio: number;
  memoryMiB: number | null;
  reservedMemoryMiB: number;
}

/** `platform` is the host's platform when known (an unknown one is reported by the caller). */
export function validateHost(h: HostFields, platform: PlatformFields | null): FieldProblem[] {
  const checks: Check[] = [
    nameCheck(h.hostname, 'hostname'),
    [isPositiveInt(h.presentCpus), 'presentCpus', `must be a positive integer, got ${h.presentCpus}`],
    [isNonNegativeInt(h.guestKeyIds), 'guestKeyIds', `must be a non-negative integer, got ${h.guestKeyIds}`],
    [
      Number.isFinite(h.allocationRatio) && h.allocationRatio > 0 && h.allocationRatio <= MAX_ALLOCATION_RATIO,
      'allocationRatio',
      `must be > 0 and <= ${MAX_ALLOCATION_RATIO}, got ${h.allocationRatio}`,
    ],
    [h.memoryMiB === null || isMemoryMiB(h.memoryMiB), 'memoryMiB', `must be 1..${MAX_MEMORY_MIB} or null (unknown), got ${h.memoryMiB}`],
    [
      isNonNegativeInt(h.reservedMemoryMiB) && (h.memoryMiB === null || h.reservedMemoryMiB <= h.memoryMiB),
      'reservedMemoryMiB',
      `must be a non-negative integer no larger than memoryMiB (${h.memoryMiB ?? 'unknown'}), got ${h.reservedMemoryMiB}`,
    ],
  ];
  if (platform && isPositiveInt(h.presentCpus)) {
    const logical = maxLogicalCpus(platform);
    checks.push([h.presentCpus <= logical, 'presentCpus', `${h.presentCpus} present CPUs exceed the ${logical} logical CPUs of platform "${platform.name}"`]);
  }
  return problems(checks);
}

export interface TdFields {
  name: string;
  vcpus: number;
  memoryMiB: number | null;
}

export function validateTd(t: TdFields): FieldProblem[] {
  return problems([
    nameCheck(t.name, 'name'),
    [isPositiveInt(t.vcpus), 'vcpus', `must be a positive integer, got ${t.vcpus}`],
    [t.memoryMiB === null || isMemoryMiB(t.memoryMiB), 'memoryMiB', `must be 1..${MAX_MEMORY_MIB} or null (unknown), got ${t.memoryMiB}`],
  ]);
}
