// From database rows to the plain facts the pure rules take (src/capacity/rules.ts). The
// Prisma selection and the mapping live together so every caller loads exactly what the rules need.
import type { HostFacts, HostUsage, KernelFacts, MigrationVersions, ModuleFacts } from '../capacity/rules.js';

export const moduleFactsSelect = {
  maxVcpusPerTd: true,
  features: true,
  minExportVersion: true,
  maxExportVersion: true,
  minImportVersion: true,
  maxImportVersion: true,
  tdcsPages: true,
  tdvpsPages: true,
} as const;

/** Prisma `select` of a Host row for hostFacts(). */
export const hostFactsSelect = {
  id: true,
  platformId: true,
  presentCpus: true,
  guestKeyIds: true,
  allocationRatio: true,
  kvmIntelTdx: true,
  memoryMiB: true,
  reservedMemoryMiB: true,
  kernel: { select: { kvmMaxVcpus: true, tdxVcpuPolicy: true, tdxInitFailure: true, moduleMetadata: true } },
  module: { select: { ...moduleFactsSelect, platforms: { select: { platformId: true } } } },
} as const;

/** Prisma `select` of a Host row for hostUsage(): the columns the td triggers keep. */
export const hostUsageSelect = {
  tdCount: true,
  allocatedVcpus: true,
  knownMemoryTdCount: true,
  knownMemoryTdVcpus: true,
  knownMemoryTdMiB: true,
} as const;

export interface ModuleRow {
  maxVcpusPerTd: number | null;
  features: readonly string[];
  minExportVersion: number | null;
  maxExportVersion: number | null;
  minImportVersion: number | null;
  maxImportVersion: number | null;
  tdcsPages: number;
  tdvpsPages: number;
}

export interface HostFactsRow {
  platformId: number;
  presentCpus: number;
  guestKeyIds: number;
  allocationRatio: number;
  kvmIntelTdx: boolean;
  memoryMiB: number | null;
  reservedMemoryMiB: number;
  kernel: KernelFacts;
  module: (ModuleRow & { platforms: readonly { platformId: number }[] }) | null;
}

export type MigrationVersionColumns = Pick<ModuleRow, keyof MigrationVersions>;

/** A module's four migration-version columns as one range, or null when any is unset (no migration support). */
export function migrationVersionsOf(row: MigrationVersionColumns): MigrationVersions | null {
  const { minExportVersion, maxExportVersion, minImportVersion, maxImportVersion } = row;
  return minExportVersion === null || maxExportVersion === null || minImportVersion === null || maxImportVersion === null
    ? null
    : { minExportVersion, maxExportVersion, minImportVersion, maxImportVersion };
}

/** The columns for a range: all four null for a module without migration support. */
export function migrationVersionColumns(migration: MigrationVersions | null): MigrationVersionColumns {
  return migration ?? { minExportVersion: null, maxExportVersion: null, minImportVersion: null, maxImportVersion: null };
}

export function moduleFacts(row: ModuleRow): ModuleFacts {
  return {
    maxVcpusPerTd: row.maxVcpusPerTd,
    features: row.features,
    tdcsPages: row.tdcsPages,
    tdvpsPages: row.tdvpsPages,
    migration: migrationVersionsOf(row),
  };
}

export function hostFacts(row: HostFactsRow): HostFacts {
  return {
    presentCpus: row.presentCpus,
    guestKeyIds: row.guestKeyIds,
    allocationRatio: row.allocationRatio,
    kernel: row.kernel,
    kvmIntelTdx: row.kvmIntelTdx,
    memoryMiB: row.memoryMiB,
    reservedMemoryMiB: row.reservedMemoryMiB,
    module: row.module ? moduleFacts(row.module) : null,
    moduleSupportsPlatform: row.module?.platforms.some((p) => p.platformId === row.platformId) ?? false,
  };
}

export function hostUsage(row: HostUsage): HostUsage {
  return {
    tdCount: row.tdCount,
    allocatedVcpus: row.allocatedVcpus,
    knownMemoryTdCount: row.knownMemoryTdCount,
    knownMemoryTdVcpus: row.knownMemoryTdVcpus,
    knownMemoryTdMiB: row.knownMemoryTdMiB,
  };
}
