// Unit tests of the pure capacity rules (shared/domain.md R1-R7, N1, N3, revision 2). Every test name starts
// with the rule id it checks. The numbers are the kernel thread's own: a TDX 1.5 module reporting
// MAX_VCPUS_PER_TD 576 against hosts of 256, 512, 576, 577 and 1376 present CPUs.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  effectiveMaxVcpusPerTd,
  FIT_BLOCKER_CODES,
  fitsWhereItRuns,
  fullyPopulatedPlatform,
  hostCapacity,
  KVM_CAP_LIMIT_FACTORS,
  kvmCapMaxVcpus,
  maxLogicalCpus,
  MIGRATION_BLOCKER_CODES,
  migrationBlockers,
  moduleFloor,
  policyCap,
  schedulableVcpus,
  systemKvmCapMaxVcpus,
  TDX_DISABLED_REASON_CODES,
  tdFitBlockers,
  tdxDisabledReasons,
  tdxEnabled,
  U16_MAX,
  type HostFacts,
  type HostUsage,
  type KernelFacts,
  type KvmCapLimitFactor,
  type MigrationCase,
  type MigrationVersions,
  type ModuleFacts,
  type TdSize,
  allocatedMemoryKiB,
  kvmLoads,
  MAINLINE_TDX_BEHAVIOUR,
  migrationVersionsOverlap,
  MODULE_METADATA_POLICIES,
  pamtMiB,
  STAGE_0_REASON_CODES,
  TDX_DISABLED_EFFECTS,
  TDX_INIT_FAILURES,
  tdFootprintKiB,
  tdMemoryMiB,
  type TdxDisabledReasonCode,
  type TdxInitFailure,
} from '../../src/capacity/rules.js';

const migrationV1: MigrationVersions = { minExportVersion: 1, maxExportVersion: 2, minImportVersion: 1, maxImportVersion: 2 };

/** TDX 1.5.xx: MAX_VCPUS_PER_TD 576. */
const tdx15: ModuleFacts = { maxVcpusPerTd: 576, features: ['TOPOLOGY_ENUM'], migration: migrationV1, tdcsPages: 6, tdvpsPages: 6 };
/** TDX 2.0.xx: more than 1000. */
const tdx20: ModuleFacts = { maxVcpusPerTd: 2048, features: ['TOPOLOGY_ENUM'], migration: migrationV1, tdcsPages: 6, tdvpsPages: 6 };
/** An old module that does not report MAX_VCPUS_PER_TD. */
const unreported: ModuleFacts = { maxVcpusPerTd: null, features: ['TOPOLOGY_ENUM'], migration: null, tdcsPages: 6, tdvpsPages: 6 };

/**
 * The R1 (v1) tests run on kernels that only disable TDX and treat module metadata leniently, which
 * is what revision 1 describes (and what a migrated database gives its existing kernels).
 */
const v1Behaviour = { tdxInitFailure: 'DISABLE_TDX', moduleMetadata: 'LENIENT' } as const;
const upstream: KernelFacts = { kvmMaxVcpus: 1024, tdxVcpuPolicy: 'PRESENT_CPUS', ...v1Behaviour };
const v19: KernelFacts = { kvmMaxVcpus: 1024, tdxVcpuPolicy: 'MODULE_LIMIT', ...v1Behaviour };

function host(overrides: Partial<HostFacts> = {}): HostFacts {
  return {
    presentCpus: 256,
    guestKeyIds: 64,
    allocationRatio: 1,
    module: tdx15,
    moduleSupportsPlatform: true,
    kernel: upstream,
    kvmIntelTdx: true,
    memoryMiB: null,
    reservedMemoryMiB: 0,
    ...overrides,
  };
}

/** Usage of TDs whose memory is unknown (R7 counts them 0). */
function used(tdCount: number, allocatedVcpus: number): HostUsage {
  return { tdCount, allocatedVcpus, knownMemoryTdCount: 0, knownMemoryTdVcpus: 0, knownMemoryTdMiB: 0 };
}
const idle: HostUsage = used(0, 0);
/** A TD of unknown memory. */
const sized = (vcpus: number): TdSize => ({ vcpus, memoryMiB: null });
const codes = (problems: readonly { code: string }[]): string[] => problems.map((p) => p.code);

describe('R2: modules that do not report MAX_VCPUS_PER_TD', () => {
  it('R2: U16_MAX is 65535', () => {
    expect(U16_MAX).toBe(65535);
  });

  it('R2: a reported value is used as is', () => {
    expect(effectiveMaxVcpusPerTd(tdx15)).toBe(576);
    expect(effectiveMaxVcpusPerTd(tdx20)).toBe(2048);
  });

  it('R2: an unreported value counts as 65535', () => {
    expect(effectiveMaxVcpusPerTd(unreported)).toBe(65535);
  });

  it('R2: an unreported value keeps TDX enabled on a 1376-CPU host under PRESENT_CPUS', () => {
    const h = host({ presentCpus: 1376, module: unreported });
    expect(tdxDisabledReasons(h)).toEqual([]);
    expect(kvmCapMaxVcpus(h)).toEqual({ value: 1024, limitedBy: ['KVM_MAX_VCPUS'] });
  });
});

describe('R1: TDX enabled', () => {
  it('R1 v2: the code list is the eight reasons in the order the kernel meets them, stage 0 first', () => {
    expect([...TDX_DISABLED_REASON_CODES]).toEqual([
      'TDX_NOT_REQUESTED',
      'NO_MODULE',
      'PLATFORM_UNSUPPORTED',
      'NO_GUEST_KEYIDS',
      'NO_RBP_MOD',
      'NO_MAX_VCPUS_METADATA',
      'NO_TOPOLOGY_ENUM',
      'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS',
    ]);
    expect([...STAGE_0_REASON_CODES]).toEqual(['TDX_NOT_REQUESTED', 'NO_MODULE', 'PLATFORM_UNSUPPORTED', 'NO_GUEST_KEYIDS']);
  });

  it.each([256, 512, 576])('R1: a 576 module keeps TDX enabled on a %i-CPU host under PRESENT_CPUS', (presentCpus) => {
    const h = host({ presentCpus });
    expect(tdxDisabledReasons(h)).toEqual([]);
    expect(tdxEnabled(h)).toBe(true);
  });

  it.each([577, 1376])('R1: a 576 module disables TDX on a %i-CPU host under PRESENT_CPUS', (presentCpus) => {
    const h = host({ presentCpus });
    expect(tdxDisabledReasons(h)).toEqual([
      { code: 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS', message: `MAX_VCPUS_PER_TD 576 < ${presentCpus} present CPUs`, effect: 'TDX_DISABLED' },
    ]);
    expect(tdxEnabled(h)).toBe(false);
  });

  it('R1: the message quotes the numbers, e.g. "MAX_VCPUS_PER_TD 576 < 1376 present CPUs"', () => {
    expect(tdxDisabledReasons(host({ presentCpus: 1376 }))[0]?.message).toBe('MAX_VCPUS_PER_TD 576 < 1376 present CPUs');
  });

  it('R1: under MODULE_LIMIT the present CPUs do not disable TDX', () => {
    expect(tdxDisabledReasons(host({ presentCpus: 1376, kernel: v19 }))).toEqual([]);
  });

  it('R1: no module reports NO_MODULE only, not the module-dependent conditions', () => {
    const h = host({ module: null, moduleSupportsPlatform: false, presentCpus: 1376 });
    expect(codes(tdxDisabledReasons(h))).toEqual(['NO_MODULE']);
  });

  it('R1: no module and no guest KeyIDs reports both', () => {
    const h = host({ module: null, guestKeyIds: 0 });
    expect(codes(tdxDisabledReasons(h))).toEqual(['NO_MODULE', 'NO_GUEST_KEYIDS']);
  });

  it('R1: an unsupported platform alone', () => {
    expect(tdxDisabledReasons(host({ moduleSupportsPlatform: false }))).toEqual([
      { code: 'PLATFORM_UNSUPPORTED', message: "the TDX module does not support the host's platform", effect: 'TDX_DISABLED' },
    ]);
  });

  it('R1: a module without TOPOLOGY_ENUM alone', () => {
    expect(codes(tdxDisabledReasons(host({ module: { ...tdx15, features: [] } })))).toEqual(['NO_TOPOLOGY_ENUM']);
  });

  it('R1: no guest KeyIDs alone, with the number', () => {
    expect(tdxDisabledReasons(host({ guestKeyIds: 0 }))).toEqual([
      { code: 'NO_GUEST_KEYIDS', message: '0 guest KeyIDs configured: no TDX private KeyIDs available', effect: 'TDX_DISABLED' },
    ]);
  });

  it('R1: every failing condition is reported at once', () => {
    const h = host({ presentCpus: 1376, guestKeyIds: 0, moduleSupportsPlatform: false, module: { ...tdx15, features: [] } });
    expect(codes(tdxDisabledReasons(h))).toEqual(['PLATFORM_UNSUPPORTED', 'NO_GUEST_KEYIDS', 'NO_TOPOLOGY_ENUM', 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS']);
  });
});

describe('R3: effective KVM_CAP_MAX_VCPUS of a TD', () => {
  it('R3: PRESENT_CPUS and MODULE_LIMIT give different caps on the same host', () => {
    expect(kvmCapMaxVcpus(host({ presentCpus: 256, kernel: upstream }))).toEqual({ value: 256, limitedBy: ['PRESENT_CPUS'] });
    expect(kvmCapMaxVcpus(host({ presentCpus: 256, kernel: v19 }))).toEqual({ value: 576, limitedBy: ['MODULE_MAX_VCPUS_PER_TD'] });
  });

  it('R3: on a 1376-CPU host the 576 module gives no cap under PRESENT_CPUS but 576 under MODULE_LIMIT', () => {
    expect(kvmCapMaxVcpus(host({ presentCpus: 1376, kernel: upstream }))).toBeNull();
    expect(kvmCapMaxVcpus(host({ presentCpus: 1376, kernel: v19 }))).toEqual({ value: 576, limitedBy: ['MODULE_MAX_VCPUS_PER_TD'] });
  });

  it('R3: the 576-CPU tie keeps TDX and caps at the present CPUs under PRESENT_CPUS', () => {
    expect(kvmCapMaxVcpus(host({ presentCpus: 576 }))).toEqual({ value: 576, limitedBy: ['PRESENT_CPUS'] });
  });

  it('R3: KVM_MAX_VCPUS 1024 binds a 1376-CPU host, 4096 lets the present CPUs bind (PRESENT_CPUS)', () => {
    const big = { presentCpus: 1376, module: tdx20 };
    expect(kvmCapMaxVcpus(host({ ...big, kernel: { kvmMaxVcpus: 1024, tdxVcpuPolicy: 'PRESENT_CPUS', ...v1Behaviour } }))).toEqual({
      value: 1024,
      limitedBy: ['KVM_MAX_VCPUS'],
    });
    expect(kvmCapMaxVcpus(host({ ...big, kernel: { kvmMaxVcpus: 4096, tdxVcpuPolicy: 'PRESENT_CPUS', ...v1Behaviour } }))).toEqual({
      value: 1376,
      limitedBy: ['PRESENT_CPUS'],
    });
  });

  it('R3: KVM_MAX_VCPUS 1024 binds a 2048 module, 4096 lets the module bind (MODULE_LIMIT)', () => {
    expect(kvmCapMaxVcpus(host({ module: tdx20, kernel: { kvmMaxVcpus: 1024, tdxVcpuPolicy: 'MODULE_LIMIT', ...v1Behaviour } }))).toEqual({
      value: 1024,
      limitedBy: ['KVM_MAX_VCPUS'],
    });
    expect(kvmCapMaxVcpus(host({ module: tdx20, kernel: { kvmMaxVcpus: 4096, tdxVcpuPolicy: 'MODULE_LIMIT', ...v1Behaviour } }))).toEqual({
      value: 2048,
      limitedBy: ['MODULE_MAX_VCPUS_PER_TD'],
    });
  });

  it('R3: an unreported module limit (65535) leaves KVM_MAX_VCPUS binding under MODULE_LIMIT', () => {
    expect(kvmCapMaxVcpus(host({ module: unreported, kernel: { kvmMaxVcpus: 4096, tdxVcpuPolicy: 'MODULE_LIMIT', ...v1Behaviour } }))).toEqual({
      value: 4096,
      limitedBy: ['KVM_MAX_VCPUS'],
    });
  });

  it('R3: ties list every binding factor (PRESENT_CPUS policy)', () => {
    expect(kvmCapMaxVcpus(host({ presentCpus: 1024, module: tdx20 }))).toEqual({
      value: 1024,
      limitedBy: ['KVM_MAX_VCPUS', 'PRESENT_CPUS'],
    });
  });

  it('R3: ties list every binding factor (MODULE_LIMIT policy)', () => {
    expect(kvmCapMaxVcpus(host({ module: { ...tdx20, maxVcpusPerTd: 1024 }, kernel: v19 }))).toEqual({
      value: 1024,
      limitedBy: ['KVM_MAX_VCPUS', 'MODULE_MAX_VCPUS_PER_TD'],
    });
  });

  it('R3: null whenever TDX is disabled, whatever the reason', () => {
    expect(kvmCapMaxVcpus(host({ module: null }))).toBeNull();
    expect(kvmCapMaxVcpus(host({ guestKeyIds: 0, kernel: v19 }))).toBeNull();
    expect(kvmCapMaxVcpus(host({ moduleSupportsPlatform: false, kernel: v19 }))).toBeNull();
  });

  it('R3: policyCap is the cap without the R1 gate', () => {
    expect(policyCap(upstream, 1376, tdx15)).toEqual({ value: 1024, limitedBy: ['KVM_MAX_VCPUS'] });
    expect(policyCap(v19, 1376, tdx15)).toEqual({ value: 576, limitedBy: ['MODULE_MAX_VCPUS_PER_TD'] });
  });
});

describe('R4: KVM_CAP_MAX_VCPUS without a VM', () => {
  it('R4: is KVM_MAX_VCPUS, 1024 or 4096, under either policy', () => {
    expect(systemKvmCapMaxVcpus(upstream)).toBe(1024);
    expect(systemKvmCapMaxVcpus(v19)).toBe(1024);
    expect(systemKvmCapMaxVcpus({ ...upstream, kvmMaxVcpus: 4096 })).toBe(4096);
  });
});

describe('R5: host capacity and fitting a TD', () => {
  it('R5: hostCapacity of an enabled host shows the cap, KeyIDs and vCPUs', () => {
    expect(hostCapacity(host({ guestKeyIds: 16, allocationRatio: 1.5 }), used(3, 100))).toEqual({
      tdxEnabled: true,
      tdxDisabledReasons: [],
      kvmCapMaxVcpus: 256,
      kvmCapMaxVcpusLimitedBy: ['PRESENT_CPUS'],
      usedKeyIds: 3,
      freeKeyIds: 13,
      allocatedVcpus: 100,
      schedulableVcpus: 384,
      freeVcpus: 284,
      kvmLoads: true,
      excessKeyIds: 0,
      excessVcpus: 0,
      pamtMiB: null,
      tdMemoryMiB: null,
      allocatedMemoryMiB: null,
      freeMemoryMiB: null,
      excessMemoryMiB: null,
    });
  });

  it('R5: hostCapacity of a disabled host has no cap and an empty limitedBy', () => {
    const capacity = hostCapacity(host({ presentCpus: 1376 }), idle);
    expect(capacity.tdxEnabled).toBe(false);
    expect(codes(capacity.tdxDisabledReasons)).toEqual(['MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS']);
    expect(capacity.kvmCapMaxVcpus).toBeNull();
    expect(capacity.kvmCapMaxVcpusLimitedBy).toEqual([]);
    expect(capacity.schedulableVcpus).toBe(1376);
  });

  it('R5: free KeyIDs and free vCPUs never go negative on an overcommitted host', () => {
    const capacity = hostCapacity(host({ guestKeyIds: 2 }), used(5, 300));
    expect(capacity.freeKeyIds).toBe(0);
    expect(capacity.freeVcpus).toBe(0);
  });

  it('R5: schedulable vCPUs round down, without losing a vCPU to binary fractions', () => {
    expect(schedulableVcpus({ presentCpus: 3, allocationRatio: 1.5 })).toBe(4);
    expect(schedulableVcpus({ presentCpus: 7, allocationRatio: 0.5 })).toBe(3);
    expect(100 * 1.15).toBeLessThan(115); // the float product is 114.99999999999999
    expect(schedulableVcpus({ presentCpus: 100, allocationRatio: 1.15 })).toBe(115);
    expect(schedulableVcpus({ presentCpus: 10, allocationRatio: 1.1 })).toBe(11);
  });

  it('R5 v2: the code list is exactly the five blockers', () => {
    expect([...FIT_BLOCKER_CODES]).toEqual(['TDX_DISABLED', 'VCPUS_EXCEED_KVM_CAP', 'NO_FREE_KEYID', 'INSUFFICIENT_VCPUS', 'INSUFFICIENT_MEMORY']);
  });

  it('R5: a TD fits at the exact limits (vcpus = cap, last KeyID, last vCPU)', () => {
    const h = host({ guestKeyIds: 4 });
    expect(tdFitBlockers(h, used(3, 0), sized(256))).toEqual([]);
    expect(tdFitBlockers(h, used(3, 200), sized(56))).toEqual([]);
  });

  it('R5: VCPUS_EXCEED_KVM_CAP alone', () => {
    // Ratio 2 leaves room for 512 vCPUs, but the cap under PRESENT_CPUS is 256.
    expect(tdFitBlockers(host({ allocationRatio: 2 }), idle, sized(300))).toEqual([
      { code: 'VCPUS_EXCEED_KVM_CAP', message: '300 vCPUs > KVM_CAP_MAX_VCPUS 256 (limited by PRESENT_CPUS)' },
    ]);
  });

  it('R5: NO_FREE_KEYID alone', () => {
    expect(tdFitBlockers(host({ guestKeyIds: 4 }), used(4, 16), sized(8))).toEqual([
      { code: 'NO_FREE_KEYID', message: 'no free guest KeyID: 4 TDs placed, 4 guest KeyIDs' },
    ]);
  });

  it('R5: INSUFFICIENT_VCPUS alone', () => {
    expect(tdFitBlockers(host(), used(2, 200), sized(64))).toEqual([
      { code: 'INSUFFICIENT_VCPUS', message: '200 allocated + 64 vCPUs > 256 schedulable vCPUs' },
    ]);
  });

  it('R5: all three capacity blockers together', () => {
    expect(codes(tdFitBlockers(host({ guestKeyIds: 2 }), used(2, 10), sized(300)))).toEqual(['VCPUS_EXCEED_KVM_CAP', 'NO_FREE_KEYID', 'INSUFFICIENT_VCPUS']);
  });

  it('R5: where TDX is disabled TDX_DISABLED is the only blocker, summarising the R1 reasons', () => {
    const h = host({ presentCpus: 1376, guestKeyIds: 0 });
    expect(tdFitBlockers(h, used(9, 5000), sized(4000))).toEqual([
      {
        code: 'TDX_DISABLED',
        message: 'TDX is disabled: 0 guest KeyIDs configured: no TDX private KeyIDs available; MAX_VCPUS_PER_TD 576 < 1376 present CPUs',
      },
    ]);
  });

  it('R5: a placed TD fits where it runs within the cap, even on a full host', () => {
    expect(fitsWhereItRuns(host({ guestKeyIds: 1 }), 256)).toBe(true);
  });

  it('R5: a placed TD does not fit where it runs above the cap or without TDX', () => {
    expect(fitsWhereItRuns(host(), 257)).toBe(false);
    expect(fitsWhereItRuns(host({ presentCpus: 577 }), 8)).toBe(false);
    // The same 512-vCPU TD fits on a 256-CPU host under MODULE_LIMIT only.
    expect(fitsWhereItRuns(host({ kernel: v19 }), 512)).toBe(true);
    expect(fitsWhereItRuns(host({ kernel: upstream }), 512)).toBe(false);
  });
});

describe('R6: migration', () => {
  function move(overrides: Partial<MigrationCase> = {}): MigrationCase {
    return {
      td: { vcpus: 64, memoryMiB: null, migratable: true, hostId: 1 },
      sourceHost: host(),
      targetHostId: 2,
      targetHost: host(),
      targetUsage: idle,
      ...overrides,
    };
  }

  it('R6: the code list is NOT_MIGRATABLE, SAME_HOST, the R5 codes, then the module codes', () => {
    expect([...MIGRATION_BLOCKER_CODES]).toEqual([
      'NOT_MIGRATABLE',
      'SAME_HOST',
      'TDX_DISABLED',
      'VCPUS_EXCEED_KVM_CAP',
      'NO_FREE_KEYID',
      'INSUFFICIENT_VCPUS',
      'INSUFFICIENT_MEMORY',
      'MIGRATION_UNSUPPORTED',
      'MIGRATION_VERSION_MISMATCH',
    ]);
  });

  it('R6: a migratable TD that fits on another host with overlapping versions has no blocker', () => {
    expect(migrationBlockers(move())).toEqual([]);
  });

  it('R6: NOT_MIGRATABLE alone', () => {
    expect(codes(migrationBlockers(move({ td: { vcpus: 64, memoryMiB: null, migratable: false, hostId: 1 } })))).toEqual(['NOT_MIGRATABLE']);
  });

  it('R6: SAME_HOST alone', () => {
    expect(migrationBlockers(move({ targetHostId: 1 }))).toEqual([{ code: 'SAME_HOST', message: 'the TD already runs on the target host 1' }]);
  });

  it('R6: the R5 blockers of the target', () => {
    expect(codes(migrationBlockers(move({ targetHost: host({ presentCpus: 1376 }) })))).toEqual(['TDX_DISABLED']);
    expect(codes(migrationBlockers(move({ td: { vcpus: 300, memoryMiB: null, migratable: true, hostId: 1 } })))).toEqual([
      'VCPUS_EXCEED_KVM_CAP',
      'INSUFFICIENT_VCPUS',
    ]);
    expect(codes(migrationBlockers(move({ targetHost: host({ guestKeyIds: 1 }), targetUsage: used(1, 8) })))).toEqual(['NO_FREE_KEYID']);
  });

  it('R6: MIGRATION_UNSUPPORTED says which module declares no migration support', () => {
    const noMigration = { ...tdx15, migration: null };
    expect(migrationBlockers(move({ sourceHost: host({ module: noMigration }) }))).toEqual([
      { code: 'MIGRATION_UNSUPPORTED', message: "the source host's TDX module declares no migration support" },
    ]);
    expect(migrationBlockers(move({ targetHost: host({ module: noMigration }) }))).toEqual([
      { code: 'MIGRATION_UNSUPPORTED', message: "the target host's TDX module declares no migration support" },
    ]);
    expect(migrationBlockers(move({ sourceHost: host({ module: noMigration }), targetHost: host({ module: noMigration }) }))).toEqual([
      {
        code: 'MIGRATION_UNSUPPORTED',
        message: "the source host's TDX module declares no migration support; the target host's TDX module declares no migration support",
      },
    ]);
  });

  it('R6: MIGRATION_UNSUPPORTED when the source host has no module', () => {
    expect(migrationBlockers(move({ sourceHost: host({ module: null }) }))).toEqual([
      { code: 'MIGRATION_UNSUPPORTED', message: 'the source host has no TDX module' },
    ]);
  });

  it('R6: MIGRATION_VERSION_MISMATCH when the source export range misses the target import range', () => {
    const source = host({ module: { ...tdx15, migration: { minExportVersion: 1, maxExportVersion: 2, minImportVersion: 1, maxImportVersion: 4 } } });
    const target = host({ module: { ...tdx20, migration: { minExportVersion: 1, maxExportVersion: 4, minImportVersion: 3, maxImportVersion: 4 } } });
    expect(migrationBlockers(move({ sourceHost: source, targetHost: target }))).toEqual([
      {
        code: 'MIGRATION_VERSION_MISMATCH',
        message: 'source module exports versions 1-2, target module imports 3-4: no common version',
      },
    ]);
  });

  it('R6: ranges that touch at one version overlap', () => {
    const source = host({ module: { ...tdx15, migration: { minExportVersion: 2, maxExportVersion: 3, minImportVersion: 1, maxImportVersion: 1 } } });
    const target = host({ module: { ...tdx20, migration: { minExportVersion: 1, maxExportVersion: 1, minImportVersion: 3, maxImportVersion: 5 } } });
    expect(migrationBlockers(move({ sourceHost: source, targetHost: target }))).toEqual([]);
  });

  it("R6: only the source's export range against the target's import range counts", () => {
    // Same export ranges and same import ranges on both sides, but export 1 never meets import 5.
    const versions = { minExportVersion: 1, maxExportVersion: 1, minImportVersion: 5, maxImportVersion: 5 };
    const source = host({ module: { ...tdx15, migration: versions } });
    const target = host({ module: { ...tdx20, migration: versions } });
    expect(codes(migrationBlockers(move({ sourceHost: source, targetHost: target })))).toEqual(['MIGRATION_VERSION_MISMATCH']);
  });

  it('R6: every blocker another host can have at once', () => {
    const c = move({
      td: { vcpus: 300, memoryMiB: null, migratable: false, hostId: 1 },
      sourceHost: host({ module: null }),
      targetHost: host({ guestKeyIds: 1, module: { ...tdx15, migration: null } }),
      targetUsage: used(1, 0),
    });
    expect(codes(migrationBlockers(c))).toEqual(['NOT_MIGRATABLE', 'VCPUS_EXCEED_KVM_CAP', 'NO_FREE_KEYID', 'INSUFFICIENT_VCPUS', 'MIGRATION_UNSUPPORTED']);
    expect(migrationBlockers(c).at(-1)?.message).toBe("the source host has no TDX module; the target host's TDX module declares no migration support");
  });
});

describe('N1: module floor', () => {
  const platforms = [
    { name: 'SPR-2S', maxLogicalCpus: 224 },
    { name: 'GNR-2S', maxLogicalCpus: 512 },
  ];

  it('N1: each component with its binding entities, ties included', () => {
    const floor = moduleFloor({
      hosts: [
        { hostname: 'a', presentCpus: 224 },
        { hostname: 'b', presentCpus: 512 },
        { hostname: 'c', presentCpus: 512 },
      ],
      tds: [
        { name: 'x', vcpus: 64 },
        { name: 'y', vcpus: 448 },
      ],
      platforms,
    });
    expect(floor).toEqual({
      floor: 512,
      hostPresentCpus: { value: 512, boundBy: ['b', 'c'] },
      tdVcpus: { value: 448, boundBy: ['y'] },
      platformMaxLogicalCpus: { value: 512, boundBy: ['GNR-2S'] },
      boundBy: ['HOST_PRESENT_CPUS', 'PLATFORM_MAX_LOGICAL_CPUS'],
    });
  });

  it('N1: a TD larger than every host and platform binds the floor (MODULE_LIMIT lets it exist)', () => {
    const floor = moduleFloor({ hosts: [{ hostname: 'a', presentCpus: 256 }], tds: [{ name: 'wide', vcpus: 600 }], platforms });
    expect(floor.floor).toBe(600);
    expect(floor.boundBy).toEqual(['TD_VCPUS']);
    expect(floor.tdVcpus).toEqual({ value: 600, boundBy: ['wide'] });
  });

  it('N1: a module that only supports platforms is bound by its largest platform', () => {
    const floor = moduleFloor({ hosts: [], tds: [], platforms });
    expect(floor.floor).toBe(512);
    expect(floor.hostPresentCpus).toEqual({ value: null, boundBy: [] });
    expect(floor.tdVcpus).toEqual({ value: null, boundBy: [] });
    expect(floor.boundBy).toEqual(['PLATFORM_MAX_LOGICAL_CPUS']);
  });

  it('N1: all components empty gives floor 1 bound by nothing', () => {
    expect(moduleFloor({ hosts: [], tds: [], platforms: [] })).toEqual({
      floor: 1,
      hostPresentCpus: { value: null, boundBy: [] },
      tdVcpus: { value: null, boundBy: [] },
      platformMaxLogicalCpus: { value: null, boundBy: [] },
      boundBy: [],
    });
  });

  it('N1: a module at the floor keeps every host (R1) and TD (R3 under MODULE_LIMIT); one less harms the binding ones', () => {
    const hosts = [
      { hostname: 'a', presentCpus: 256 },
      { hostname: 'b', presentCpus: 576 },
    ];
    const tds = [{ name: 'x', vcpus: 500 }];
    const { floor } = moduleFloor({ hosts, tds, platforms: [] });
    const at = (maxVcpusPerTd: number): ModuleFacts => ({ ...tdx15, maxVcpusPerTd });
    expect(floor).toBe(576);
    expect(hosts.every((h) => tdxEnabled(host({ presentCpus: h.presentCpus, module: at(floor) })))).toBe(true);
    expect(tdxEnabled(host({ presentCpus: 576, module: at(floor - 1) }))).toBe(false);
    expect(fitsWhereItRuns(host({ presentCpus: 256, module: at(floor), kernel: v19 }), 500)).toBe(true);
  });
});

describe('N3: module x platform matrix', () => {
  const spr2s = { sockets: 2, coresPerSocket: 56, threadsPerCore: 2 };
  const srf2s = { sockets: 2, coresPerSocket: 288, threadsPerCore: 1 };
  const spr8s = { sockets: 8, coresPerSocket: 60, threadsPerCore: 2 };

  it('N3: maxLogicalCpus is sockets x cores x threads', () => {
    expect(maxLogicalCpus(spr2s)).toBe(224);
    expect(maxLogicalCpus(srf2s)).toBe(576);
    expect(maxLogicalCpus(spr8s)).toBe(960);
  });

  it('N3: a small platform keeps TDX under both policies, with different caps', () => {
    expect(fullyPopulatedPlatform(tdx15, spr2s, upstream)).toEqual({
      tdxEnabled: true,
      tdxDisabledReasons: [],
      kvmCapMaxVcpus: { value: 224, limitedBy: ['PRESENT_CPUS'] },
      kvmLoads: true,
    });
    expect(fullyPopulatedPlatform(tdx15, spr2s, v19).kvmCapMaxVcpus).toEqual({ value: 576, limitedBy: ['MODULE_MAX_VCPUS_PER_TD'] });
  });

  it('N3: a platform of exactly MAX_VCPUS_PER_TD logical CPUs is a tie and keeps TDX', () => {
    expect(fullyPopulatedPlatform(tdx15, srf2s, upstream).kvmCapMaxVcpus).toEqual({ value: 576, limitedBy: ['PRESENT_CPUS'] });
  });

  it('N3: a platform larger than MAX_VCPUS_PER_TD loses TDX under PRESENT_CPUS only', () => {
    expect(fullyPopulatedPlatform(tdx15, spr8s, upstream)).toEqual({
      tdxEnabled: false,
      tdxDisabledReasons: [{ code: 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS', message: 'MAX_VCPUS_PER_TD 576 < 960 present CPUs', effect: 'TDX_DISABLED' }],
      kvmCapMaxVcpus: null,
      kvmLoads: true,
    });
    expect(fullyPopulatedPlatform(tdx15, spr8s, v19).kvmCapMaxVcpus).toEqual({ value: 576, limitedBy: ['MODULE_MAX_VCPUS_PER_TD'] });
    expect(fullyPopulatedPlatform(tdx20, spr8s, upstream).kvmCapMaxVcpus).toEqual({ value: 960, limitedBy: ['PRESENT_CPUS'] });
  });

  it('N3: a module without TOPOLOGY_ENUM fails every platform', () => {
    expect(codes(fullyPopulatedPlatform({ ...tdx15, features: [] }, spr2s, v19).tdxDisabledReasons)).toEqual(['NO_TOPOLOGY_ENUM']);
  });
});

describe('R1 v2: TDX status and what a failure costs', () => {
  /** A module a mainline kernel initialises: both features and the metadata. */
  const mainlineModule: ModuleFacts = { ...tdx15, features: ['TOPOLOGY_ENUM', 'NO_RBP_MOD'] };
  const kernelOf = (tdxInitFailure: TdxInitFailure): KernelFacts => ({ kvmMaxVcpus: 1024, ...MAINLINE_TDX_BEHAVIOUR, tdxInitFailure });
  const mainlineHost = (overrides: Partial<HostFacts> = {}): HostFacts => host({ module: mainlineModule, kernel: kernelOf('FAIL_KVM_LOAD'), ...overrides });

  type Change = (h: HostFacts) => HostFacts;
  const withModule =
    (change: Partial<ModuleFacts>): Change =>
    (h) => ({ ...h, module: { ...h.module!, ...change } });
  /** Each stage 1 condition, made to fail alone on a host that has a module. */
  const stage1: [TdxDisabledReasonCode, Change][] = [
    ['NO_RBP_MOD', withModule({ features: ['TOPOLOGY_ENUM'] })],
    ['NO_MAX_VCPUS_METADATA', withModule({ maxVcpusPerTd: null })],
    ['NO_TOPOLOGY_ENUM', withModule({ features: ['NO_RBP_MOD'] })],
    ['MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS', (h) => ({ ...h, presentCpus: 1376 })],
  ];
  /** Each stage 0 condition that leaves the module in place, made to fail alone. */
  const stage0: [TdxDisabledReasonCode, Change][] = [
    ['TDX_NOT_REQUESTED', (h) => ({ ...h, kvmIntelTdx: false })],
    ['PLATFORM_UNSUPPORTED', (h) => ({ ...h, moduleSupportsPlatform: false })],
    ['NO_GUEST_KEYIDS', (h) => ({ ...h, guestKeyIds: 0 })],
  ];
  const effects = (h: HostFacts): [string, string][] => tdxDisabledReasons(h).map((r) => [r.code, r.effect]);

  it('R1 v2: the effects are TDX_DISABLED and KVM_LOAD_FAILS', () => {
    expect([...TDX_DISABLED_EFFECTS]).toEqual(['TDX_DISABLED', 'KVM_LOAD_FAILS']);
  });

  it('R1 v2: a module with both features and the metadata keeps TDX and KVM on a mainline kernel', () => {
    expect(tdxDisabledReasons(mainlineHost())).toEqual([]);
    expect(kvmLoads(mainlineHost())).toBe(true);
  });

  it.each(TDX_INIT_FAILURES)('R1 v2: each stage 0 condition alone only disables TDX (%s kernel)', (failure) => {
    for (const [code, change] of [...stage0, ['NO_MODULE', (h: HostFacts) => ({ ...h, module: null })] as [TdxDisabledReasonCode, Change]]) {
      const h = change(mainlineHost({ kernel: kernelOf(failure) }));
      expect(effects(h)).toEqual([[code, 'TDX_DISABLED']]);
      expect(kvmLoads(h)).toBe(true);
      expect(tdxEnabled(h)).toBe(false);
    }
  });

  it.each(stage1)('R1 v2: %s alone fails the KVM load on a FAIL_KVM_LOAD kernel', (code, change) => {
    const h = change(mainlineHost());
    expect(effects(h)).toEqual([[code, 'KVM_LOAD_FAILS']]);
    expect(kvmLoads(h)).toBe(false);
    expect(hostCapacity(h, idle)).toMatchObject({ tdxEnabled: false, kvmLoads: false, kvmCapMaxVcpus: null });
  });

  it.each(stage1)('R1 v2: %s alone only disables TDX on a DISABLE_TDX kernel', (code, change) => {
    const h = change(mainlineHost({ kernel: kernelOf('DISABLE_TDX') }));
    expect(effects(h)).toEqual([[code, 'TDX_DISABLED']]);
    expect(kvmLoads(h)).toBe(true);
  });

  it.each(stage0.flatMap(([code0, change0]) => stage1.map(([code1, change1]) => [code0, code1, change0, change1] as const)))(
    'R1 v2: stage 0 %s stops the bring-up quietly before stage 1 %s (both reported, both TDX_DISABLED, KVM loads)',
    (code0, code1, change0, change1) => {
      for (const failure of TDX_INIT_FAILURES) {
        const h = change1(change0(mainlineHost({ kernel: kernelOf(failure) })));
        const expected = TDX_DISABLED_REASON_CODES.filter((c) => c === code0 || c === code1).map((c) => [c, 'TDX_DISABLED']);
        expect(effects(h)).toEqual(expected);
        expect(kvmLoads(h)).toBe(true);
      }
    },
  );

  it('R1 v2: every failing condition of both stages at once, in the kernel order', () => {
    const h = host({
      kvmIntelTdx: false,
      moduleSupportsPlatform: false,
      guestKeyIds: 0,
      presentCpus: 1376,
      module: { ...tdx15, maxVcpusPerTd: null, features: [] },
      kernel: { kvmMaxVcpus: 1024, tdxVcpuPolicy: 'PRESENT_CPUS', tdxInitFailure: 'FAIL_KVM_LOAD', moduleMetadata: 'LENIENT' },
    });
    // LENIENT: no NO_RBP_MOD nor NO_MAX_VCPUS_METADATA, and the missing limit counts as 65535 (R2).
    expect(effects(h)).toEqual([
      ['TDX_NOT_REQUESTED', 'TDX_DISABLED'],
      ['PLATFORM_UNSUPPORTED', 'TDX_DISABLED'],
      ['NO_GUEST_KEYIDS', 'TDX_DISABLED'],
      ['NO_TOPOLOGY_ENUM', 'TDX_DISABLED'],
    ]);
    const strict = { ...h, kernel: { ...h.kernel, moduleMetadata: 'STRICT' as const } };
    expect(codes(tdxDisabledReasons(strict))).toEqual([
      'TDX_NOT_REQUESTED',
      'PLATFORM_UNSUPPORTED',
      'NO_GUEST_KEYIDS',
      'NO_RBP_MOD',
      'NO_MAX_VCPUS_METADATA',
      'NO_TOPOLOGY_ENUM',
    ]);
  });

  it('R1 v2: all four stage 1 conditions fail the KVM load together', () => {
    const h = mainlineHost({ presentCpus: 1376, module: { ...tdx15, maxVcpusPerTd: 512, features: [] } });
    expect(effects(h)).toEqual([
      ['NO_RBP_MOD', 'KVM_LOAD_FAILS'],
      ['NO_TOPOLOGY_ENUM', 'KVM_LOAD_FAILS'],
      ['MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS', 'KVM_LOAD_FAILS'],
    ]);
  });

  it('R1 v2: NO_RBP_MOD and NO_MAX_VCPUS_METADATA are checked by STRICT kernels only', () => {
    const old = { ...tdx15, maxVcpusPerTd: null, features: ['TOPOLOGY_ENUM'] };
    expect(codes(tdxDisabledReasons(mainlineHost({ module: old })))).toEqual(['NO_RBP_MOD', 'NO_MAX_VCPUS_METADATA']);
    expect(tdxDisabledReasons(mainlineHost({ module: old, kernel: { ...kernelOf('FAIL_KVM_LOAD'), moduleMetadata: 'LENIENT' } }))).toEqual([]);
  });

  it('R1 v2: the new reasons carry the kernel messages', () => {
    expect(tdxDisabledReasons(mainlineHost({ kvmIntelTdx: false }))).toEqual([
      { code: 'TDX_NOT_REQUESTED', message: 'kvm_intel.tdx=0: TDX is not requested', effect: 'TDX_DISABLED' },
    ]);
    expect(tdxDisabledReasons(mainlineHost({ module: { ...mainlineModule, features: ['TOPOLOGY_ENUM'] } }))).toEqual([
      {
        code: 'NO_RBP_MOD',
        message: 'the TDX module does not report NO_RBP_MOD in TDX_FEATURES0: frame pointer (RBP) clobber bug present, upgrade TDX module',
        effect: 'KVM_LOAD_FAILS',
      },
    ]);
    expect(tdxDisabledReasons(mainlineHost({ module: { ...mainlineModule, maxVcpusPerTd: null } }))).toEqual([
      {
        code: 'NO_MAX_VCPUS_METADATA',
        message: 'the TDX module does not report MAX_VCPUS_PER_TD, mandatory metadata on a STRICT kernel',
        effect: 'KVM_LOAD_FAILS',
      },
    ]);
  });

  it('R1 v2: a host whose KVM does not load offers no TD a place (TDX_DISABLED says why)', () => {
    const h = mainlineHost({ presentCpus: 1376 });
    expect(tdFitBlockers(h, idle, sized(8))).toEqual([
      { code: 'TDX_DISABLED', message: 'TDX is disabled (kvm_intel does not load): MAX_VCPUS_PER_TD 576 < 1376 present CPUs' },
    ]);
  });
});

describe('R2 v2: old modules under STRICT and LENIENT kernels', () => {
  const old = { ...unreported, features: ['TOPOLOGY_ENUM', 'NO_RBP_MOD'] };
  const strict = (tdxInitFailure: TdxInitFailure): KernelFacts => ({
    kvmMaxVcpus: 1024,
    tdxVcpuPolicy: 'PRESENT_CPUS',
    tdxInitFailure,
    moduleMetadata: 'STRICT',
  });

  it('R2 v2: a STRICT kernel cannot initialise a module without MAX_VCPUS_PER_TD, and does not guess its limit', () => {
    // Not also MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS: the limit is unknown, not 65535.
    expect(codes(tdxDisabledReasons(host({ presentCpus: 1376, module: old, kernel: strict('FAIL_KVM_LOAD') })))).toEqual(['NO_MAX_VCPUS_METADATA']);
    expect(kvmLoads(host({ module: old, kernel: strict('FAIL_KVM_LOAD') }))).toBe(false);
    expect(kvmLoads(host({ module: old, kernel: strict('DISABLE_TDX') }))).toBe(true);
  });

  it('R2 v2: a LENIENT kernel treats it as 65535 and keeps TDX', () => {
    expect(tdxDisabledReasons(host({ presentCpus: 1376, module: old, kernel: { ...strict('FAIL_KVM_LOAD'), moduleMetadata: 'LENIENT' } }))).toEqual([]);
  });
});

describe('R4b: host accounting', () => {
  it('R4b: within the host, nothing is in excess', () => {
    expect(hostCapacity(host({ guestKeyIds: 4 }), used(4, 256))).toMatchObject({ freeKeyIds: 0, excessKeyIds: 0, freeVcpus: 0, excessVcpus: 0 });
  });

  it('R4b: one TD or one vCPU over is an excess of one', () => {
    expect(hostCapacity(host({ guestKeyIds: 4 }), used(5, 257))).toMatchObject({ freeKeyIds: 0, excessKeyIds: 1, freeVcpus: 0, excessVcpus: 1 });
  });

  it('R4b: excess vCPUs count against presentCpus x ratio, rounded down', () => {
    expect(hostCapacity(host({ presentCpus: 3, allocationRatio: 1.5 }), used(1, 10))).toMatchObject({ schedulableVcpus: 4, excessVcpus: 6 });
  });

  it('R4b: an over-full host shows its excess whether or not TDX is enabled', () => {
    expect(hostCapacity(host({ guestKeyIds: 0 }), used(2, 300))).toMatchObject({ tdxEnabled: false, excessKeyIds: 2, excessVcpus: 44 });
  });
});

describe('R6 v2: migration to the TD own host, and version ranges', () => {
  function move(overrides: Partial<MigrationCase> = {}): MigrationCase {
    return {
      td: { vcpus: 64, memoryMiB: null, migratable: true, hostId: 1 },
      sourceHost: host(),
      targetHostId: 2,
      targetHost: host(),
      targetUsage: idle,
      ...overrides,
    };
  }
  const ranges = (minExportVersion: number, maxExportVersion: number, minImportVersion: number, maxImportVersion: number): HostFacts =>
    host({ module: { ...tdx15, migration: { minExportVersion, maxExportVersion, minImportVersion, maxImportVersion } } });

  it('R6 v2: on its own host only SAME_HOST, even where the host is full, TDX is off and no module migrates', () => {
    const own = host({ presentCpus: 1376, guestKeyIds: 1, module: { ...tdx15, migration: null } });
    expect(migrationBlockers(move({ targetHostId: 1, sourceHost: own, targetHost: own, targetUsage: used(1, 5000) }))).toEqual([
      { code: 'SAME_HOST', message: 'the TD already runs on the target host 1' },
    ]);
  });

  it('R6 v2: on its own host a TD that is not migratable gets NOT_MIGRATABLE and SAME_HOST only', () => {
    const c = move({ td: { vcpus: 4000, memoryMiB: 1 << 20, migratable: false, hostId: 1 }, targetHostId: 1, targetUsage: used(64, 256) });
    expect(codes(migrationBlockers(c))).toEqual(['NOT_MIGRATABLE', 'SAME_HOST']);
  });

  it('R6: touching ranges overlap, on either side', () => {
    // export 2-3 meets import 3-5 at 3 (source below target) ...
    expect(migrationBlockers(move({ sourceHost: ranges(2, 3, 9, 9), targetHost: ranges(9, 9, 3, 5) }))).toEqual([]);
    // ... and export 3-5 meets import 1-3 at 3 (source above target).
    expect(migrationBlockers(move({ sourceHost: ranges(3, 5, 9, 9), targetHost: ranges(9, 9, 1, 3) }))).toEqual([]);
    expect(
      migrationVersionsOverlap(
        { minExportVersion: 3, maxExportVersion: 3, minImportVersion: 0, maxImportVersion: 0 },
        { minExportVersion: 0, maxExportVersion: 0, minImportVersion: 3, maxImportVersion: 3 },
      ),
    ).toBe(true);
  });

  it('R6: a source whose lowest export version is above the target highest import version is a mismatch', () => {
    expect(migrationBlockers(move({ sourceHost: ranges(4, 5, 1, 5), targetHost: ranges(1, 5, 1, 3) }))).toEqual([
      { code: 'MIGRATION_VERSION_MISMATCH', message: 'source module exports versions 4-5, target module imports 1-3: no common version' },
    ]);
  });

  it('R6: a source whose highest export version is below the target lowest import version is a mismatch', () => {
    expect(codes(migrationBlockers(move({ sourceHost: ranges(1, 2, 1, 5), targetHost: ranges(1, 5, 3, 5) })))).toEqual(['MIGRATION_VERSION_MISMATCH']);
  });

  it('R6: ranges one version apart do not overlap, on either side', () => {
    const v = (minExportVersion: number, maxExportVersion: number, minImportVersion: number, maxImportVersion: number): MigrationVersions => ({
      minExportVersion,
      maxExportVersion,
      minImportVersion,
      maxImportVersion,
    });
    expect(migrationVersionsOverlap(v(1, 2, 0, 0), v(0, 0, 3, 4))).toBe(false);
    expect(migrationVersionsOverlap(v(4, 5, 0, 0), v(0, 0, 2, 3))).toBe(false);
    expect(migrationVersionsOverlap(v(1, 3, 0, 0), v(0, 0, 3, 4))).toBe(true);
    expect(migrationVersionsOverlap(v(3, 5, 0, 0), v(0, 0, 2, 3))).toBe(true);
    // A target range inside the source range, and the other way round.
    expect(migrationVersionsOverlap(v(1, 9, 0, 0), v(0, 0, 4, 5))).toBe(true);
    expect(migrationVersionsOverlap(v(4, 5, 0, 0), v(0, 0, 1, 9))).toBe(true);
  });
});

describe('R7: memory', () => {
  // 2560 MiB of RAM: PAMT 10 MiB, 2550 MiB (2,611,200 KiB) for TDs. A TD of 2539 MiB and 45 vCPUs on
  // a module of 6 TDCS and 6 TDVPS pages: 1028 x 2539 + 4 x (1 + 6 + 45 x 6) = 2,611,200 KiB.
  const small = (overrides: Partial<HostFacts> = {}): HostFacts => host({ memoryMiB: 2560, guestKeyIds: 8, allocationRatio: 4, ...overrides });
  const exact = { vcpus: 45, memoryMiB: 2539 };

  it('R7: PAMT is 1/256 of RAM rounded up', () => {
    expect([pamtMiB(0), pamtMiB(1), pamtMiB(256), pamtMiB(257), pamtMiB(2 * 1024 * 1024)]).toEqual([0, 1, 1, 2, 8192]);
  });

  it('R7: memory for TDs is RAM less the reservation and PAMT', () => {
    expect(tdMemoryMiB({ memoryMiB: 2560, reservedMemoryMiB: 0 })).toBe(2550);
    expect(tdMemoryMiB({ memoryMiB: 262144, reservedMemoryMiB: 8192 })).toBe(262144 - 8192 - 1024);
  });

  it('R7: a footprint is 1028 KiB per MiB plus 4 KiB per TDR, TDCS and TDVPS page', () => {
    expect(tdFootprintKiB(tdx15, exact)).toBe(2611200);
    expect(tdFootprintKiB({ tdcsPages: 6, tdvpsPages: 6 }, { vcpus: 1, memoryMiB: 0 })).toBe(4 * (1 + 6 + 6));
    expect(tdFootprintKiB({ tdcsPages: 9, tdvpsPages: 4 }, { vcpus: 4, memoryMiB: 1024 })).toBe(1028 * 1024 + 4 * (1 + 9 + 16));
  });

  it('R7: a TD that fills the memory for TDs exactly fits', () => {
    expect(tdFitBlockers(small(), idle, exact)).toEqual([]);
  });

  it('R7: the smallest step over the limit (4 KiB: one more TDCS page; footprints are whole 4 KiB pages) is INSUFFICIENT_MEMORY', () => {
    const h = small({ module: { ...tdx15, tdcsPages: 7 } });
    expect(tdFitBlockers(h, idle, exact)).toEqual([{ code: 'INSUFFICIENT_MEMORY', message: '0 KiB allocated + 2611204 KiB footprint > 2611200 KiB for TDs' }]);
  });

  it('R7: one KiB less room (one more MiB reserved takes 1024 KiB) refuses the exact fit', () => {
    expect(codes(tdFitBlockers(small({ reservedMemoryMiB: 1 }), idle, exact))).toEqual(['INSUFFICIENT_MEMORY']);
    expect(codes(tdFitBlockers(small(), idle, { ...exact, vcpus: 46 }))).toEqual(['INSUFFICIENT_MEMORY']);
  });

  it('R7: TDs already placed count with their footprints on the host module', () => {
    // One TD of 1000 MiB and 4 vCPUs placed: 1,028,000 + 4 x (7 + 24) = 1,028,124 KiB.
    const usage: HostUsage = { ...used(1, 4), knownMemoryTdCount: 1, knownMemoryTdVcpus: 4, knownMemoryTdMiB: 1000 };
    const left = 2611200 - 1028124;
    expect(hostCapacity(small(), usage)).toMatchObject({
      pamtMiB: 10,
      tdMemoryMiB: 2550,
      allocatedMemoryMiB: Math.ceil(1028124 / 1024),
      freeMemoryMiB: Math.floor(left / 1024),
      excessMemoryMiB: 0,
    });
    expect(tdFitBlockers(small(), usage, { vcpus: 1, memoryMiB: Math.floor((left - 4 * 13) / 1028) })).toEqual([]);
    expect(codes(tdFitBlockers(small(), usage, { vcpus: 1, memoryMiB: Math.floor((left - 4 * 13) / 1028) + 1 }))).toEqual(['INSUFFICIENT_MEMORY']);
  });

  it('R7: a host at the exact limit has 0 free and 0 excess; 4 KiB over is 1 MiB of excess (rounded up)', () => {
    const full: HostUsage = { ...used(1, 45), knownMemoryTdCount: 1, knownMemoryTdVcpus: 45, knownMemoryTdMiB: 2539 };
    expect(hostCapacity(small(), full)).toMatchObject({ allocatedMemoryMiB: 2550, freeMemoryMiB: 0, excessMemoryMiB: 0 });
    expect(hostCapacity(small({ module: { ...tdx15, tdcsPages: 7 } }), full)).toMatchObject({ allocatedMemoryMiB: 2551, freeMemoryMiB: 0, excessMemoryMiB: 1 });
    // 4 KiB under the limit: less than a MiB free is 0 free MiB (rounded down).
    expect(hostCapacity(small({ module: { ...tdx15, tdcsPages: 5 } }), full)).toMatchObject({ allocatedMemoryMiB: 2550, freeMemoryMiB: 0, excessMemoryMiB: 0 });
  });

  it('R7: unknown host memory: no memory figures and no memory check', () => {
    const h = host({ memoryMiB: null });
    expect(hostCapacity(h, idle)).toMatchObject({ pamtMiB: null, tdMemoryMiB: null, allocatedMemoryMiB: null, freeMemoryMiB: null, excessMemoryMiB: null });
    expect(tdFitBlockers(h, idle, { vcpus: 8, memoryMiB: 1 << 30 })).toEqual([]);
  });

  it('R7: a TD of unknown memory is not checked, and counts 0 where it runs', () => {
    const full: HostUsage = { ...used(1, 45), knownMemoryTdCount: 1, knownMemoryTdVcpus: 45, knownMemoryTdMiB: 2539 };
    expect(tdFitBlockers(small(), full, { vcpus: 8, memoryMiB: null })).toEqual([]);
    // Three more TDs of unknown memory on it change nothing.
    expect(hostCapacity(small(), { ...full, tdCount: 4, allocatedVcpus: 69 })).toMatchObject({
      allocatedMemoryMiB: 2550,
      freeMemoryMiB: 0,
      excessMemoryMiB: 0,
    });
  });

  it('R7: no memory figures where TDX is disabled, even with the memory known', () => {
    expect(hostCapacity(small({ guestKeyIds: 0 }), idle)).toMatchObject({ pamtMiB: null, tdMemoryMiB: null, freeMemoryMiB: null });
  });

  it('R7: a reservation larger than RAM less PAMT leaves no room: every sized TD is refused, the shortfall is excess', () => {
    const h = small({ reservedMemoryMiB: 2555 });
    expect(hostCapacity(h, idle)).toMatchObject({ tdMemoryMiB: -5, allocatedMemoryMiB: 0, freeMemoryMiB: 0, excessMemoryMiB: 5 });
    expect(codes(tdFitBlockers(h, idle, { vcpus: 1, memoryMiB: 0 }))).toEqual(['INSUFFICIENT_MEMORY']);
  });

  it('R7: memory is reported after the vCPU and KeyID blockers', () => {
    expect(codes(tdFitBlockers(small({ guestKeyIds: 1 }), used(1, 0), { vcpus: 300, memoryMiB: 4096 }))).toEqual([
      'VCPUS_EXCEED_KVM_CAP',
      'NO_FREE_KEYID',
      'INSUFFICIENT_MEMORY',
    ]);
  });

  it('R6/R7: a migration target short of memory is INSUFFICIENT_MEMORY', () => {
    const c: MigrationCase = {
      td: { ...exact, vcpus: 46, migratable: true, hostId: 1 },
      sourceHost: host(),
      targetHostId: 2,
      targetHost: small(),
      targetUsage: idle,
    };
    expect(codes(migrationBlockers(c))).toEqual(['INSUFFICIENT_MEMORY']);
  });
});

describe('N3 v2: does a mainline kernel load KVM on a fully populated platform', () => {
  const spr2s = { sockets: 2, coresPerSocket: 56, threadsPerCore: 2 };
  const spr8s = { sockets: 8, coresPerSocket: 60, threadsPerCore: 2 };
  const mainline: KernelFacts = { kvmMaxVcpus: 1024, ...MAINLINE_TDX_BEHAVIOUR };
  const current = { ...tdx15, features: ['TOPOLOGY_ENUM', 'NO_RBP_MOD'] };

  it('N3 v2: a current module on a platform within its limit: TDX and KVM', () => {
    expect(fullyPopulatedPlatform(current, spr2s, mainline)).toMatchObject({ tdxEnabled: true, kvmLoads: true });
  });

  it('N3 v2: more logical CPUs than MAX_VCPUS_PER_TD: kvm_intel fails to load', () => {
    const cell = fullyPopulatedPlatform(current, spr8s, mainline);
    expect(cell.kvmLoads).toBe(false);
    expect(cell.tdxDisabledReasons).toEqual([
      { code: 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS', message: 'MAX_VCPUS_PER_TD 576 < 960 present CPUs', effect: 'KVM_LOAD_FAILS' },
    ]);
  });

  it('N3 v2: a module without NO_RBP_MOD or without the metadata fails the load on every platform', () => {
    expect(fullyPopulatedPlatform(tdx15, spr2s, mainline).kvmLoads).toBe(false);
    expect(codes(fullyPopulatedPlatform({ ...current, maxVcpusPerTd: null }, spr2s, mainline).tdxDisabledReasons)).toEqual(['NO_MAX_VCPUS_METADATA']);
  });
});

describe('R1-R5: properties on random hosts', () => {
  const moduleArb: fc.Arbitrary<ModuleFacts | null> = fc.option(
    fc.record({
      maxVcpusPerTd: fc.option(fc.integer({ min: 1, max: U16_MAX }), { nil: null }),
      features: fc.constantFrom<readonly string[]>([], ['TOPOLOGY_ENUM'], ['NO_RBP_MOD'], ['TOPOLOGY_ENUM', 'NO_RBP_MOD']),
      migration: fc.constant(null),
      tdcsPages: fc.integer({ min: 1, max: 16 }),
      tdvpsPages: fc.integer({ min: 1, max: 16 }),
    }),
    { nil: null },
  );
  const hostArb: fc.Arbitrary<HostFacts> = fc.record({
    presentCpus: fc.oneof(fc.integer({ min: 1, max: 2048 }), fc.constantFrom(256, 512, 576, 577, 1024, 1376)),
    guestKeyIds: fc.integer({ min: 0, max: 128 }),
    allocationRatio: fc.constantFrom(0.5, 1, 1.1, 1.15, 1.5, 2, 4),
    module: moduleArb,
    moduleSupportsPlatform: fc.boolean(),
    kernel: fc.record({
      kvmMaxVcpus: fc.constantFrom(1024, 4096, 576, 256),
      tdxVcpuPolicy: fc.constantFrom<'PRESENT_CPUS' | 'MODULE_LIMIT'>('PRESENT_CPUS', 'MODULE_LIMIT'),
      tdxInitFailure: fc.constantFrom(...TDX_INIT_FAILURES),
      moduleMetadata: fc.constantFrom(...MODULE_METADATA_POLICIES),
    }),
    kvmIntelTdx: fc.boolean(),
    memoryMiB: fc.option(fc.oneof(fc.integer({ min: 0, max: 4 * 1024 * 1024 }), fc.constantFrom(256, 2560, 65536)), { nil: null }),
    reservedMemoryMiB: fc.integer({ min: 0, max: 16384 }),
  });
  const usageArb: fc.Arbitrary<HostUsage> = fc
    .record({
      tdCount: fc.integer({ min: 0, max: 130 }),
      allocatedVcpus: fc.integer({ min: 0, max: 5000 }),
      knownMemoryTdMiB: fc.integer({ min: 0, max: 4 * 1024 * 1024 }),
      knownShare: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .map(({ knownShare, ...u }) => ({
      ...u,
      knownMemoryTdCount: Math.floor(u.tdCount * knownShare),
      knownMemoryTdVcpus: Math.floor(u.allocatedVcpus * knownShare),
    }));
  const tdArb: fc.Arbitrary<TdSize> = fc.record({
    vcpus: fc.integer({ min: 1, max: 4096 }),
    memoryMiB: fc.option(fc.integer({ min: 0, max: 1024 * 1024 }), { nil: null }),
  });

  function factorValue(h: HostFacts, factor: KvmCapLimitFactor): number {
    switch (factor) {
      case 'KVM_MAX_VCPUS':
        return h.kernel.kvmMaxVcpus;
      case 'PRESENT_CPUS':
        return h.presentCpus;
      case 'MODULE_MAX_VCPUS_PER_TD':
        return h.module ? effectiveMaxVcpusPerTd(h.module) : Number.NaN;
    }
  }

  it('R1/R3: the cap is null iff some R1 reason fails, and tdxEnabled agrees', () => {
    fc.assert(
      fc.property(hostArb, (h) => {
        const reasons = tdxDisabledReasons(h);
        expect(kvmCapMaxVcpus(h) === null).toBe(reasons.length > 0);
        expect(tdxEnabled(h)).toBe(reasons.length === 0);
        expect(new Set(codes(reasons)).size).toBe(reasons.length);
      }),
    );
  });

  it('R3: the cap never exceeds KVM_MAX_VCPUS nor the module limit; limitedBy is non-empty and exact', () => {
    fc.assert(
      fc.property(hostArb, (h) => {
        const cap = kvmCapMaxVcpus(h);
        if (cap === null || h.module === null) return;
        expect(cap.value).toBeLessThanOrEqual(h.kernel.kvmMaxVcpus);
        // Under PRESENT_CPUS, R1 already guarantees present CPUs <= MAX_VCPUS_PER_TD.
        expect(cap.value).toBeLessThanOrEqual(effectiveMaxVcpusPerTd(h.module));
        if (h.kernel.tdxVcpuPolicy === 'PRESENT_CPUS') expect(cap.value).toBeLessThanOrEqual(h.presentCpus);
        expect(cap.limitedBy.length).toBeGreaterThan(0);
        for (const factor of cap.limitedBy) expect(factorValue(h, factor)).toBe(cap.value);
        expect(cap.limitedBy.every((f) => KVM_CAP_LIMIT_FACTORS.includes(f))).toBe(true);
      }),
    );
  });

  it('R1 v2: KVM_LOAD_FAILS only on FAIL_KVM_LOAD kernels, only for stage 1 conditions, only when stage 0 passes; kvmLoads agrees', () => {
    fc.assert(
      fc.property(hostArb, (h) => {
        const reasons = tdxDisabledReasons(h);
        const stage0 = reasons.filter((r) => (STAGE_0_REASON_CODES as readonly string[]).includes(r.code));
        for (const r of reasons) {
          const expected = !stage0.includes(r) && stage0.length === 0 && h.kernel.tdxInitFailure === 'FAIL_KVM_LOAD' ? 'KVM_LOAD_FAILS' : 'TDX_DISABLED';
          expect(r.effect).toBe(expected);
        }
        // In the kernel's order, each code at most once.
        const order = reasons.map((r) => TDX_DISABLED_REASON_CODES.indexOf(r.code));
        expect(order).toEqual([...order].sort((a, b) => a - b));
        expect(new Set(order).size).toBe(order.length);
        expect(kvmLoads(h)).toBe(reasons.every((r) => r.effect === 'TDX_DISABLED'));
        expect(hostCapacity(h, idle).kvmLoads).toBe(kvmLoads(h));
        // A host whose KVM does not load has no TDX either.
        if (!kvmLoads(h)) expect(tdxEnabled(h)).toBe(false);
      }),
    );
  });

  it('R4b: free plus excess is the difference either way, both never negative', () => {
    fc.assert(
      fc.property(hostArb, usageArb, (h, usage) => {
        const c = hostCapacity(h, usage);
        expect(c.freeKeyIds - c.excessKeyIds).toBe(h.guestKeyIds - usage.tdCount);
        expect(c.freeVcpus - c.excessVcpus).toBe(c.schedulableVcpus - usage.allocatedVcpus);
        expect(Math.min(c.freeKeyIds, c.excessKeyIds, c.freeVcpus, c.excessVcpus)).toBeGreaterThanOrEqual(0);
        expect(c.freeKeyIds === 0 || c.excessKeyIds === 0).toBe(true);
        expect(c.freeVcpus === 0 || c.excessVcpus === 0).toBe(true);
      }),
    );
  });

  it('R7: the five memory figures are null exactly where TDX is disabled or the memory unknown, and consistent', () => {
    fc.assert(
      fc.property(hostArb, usageArb, (h, usage) => {
        const c = hostCapacity(h, usage);
        const figures = [c.pamtMiB, c.tdMemoryMiB, c.allocatedMemoryMiB, c.freeMemoryMiB, c.excessMemoryMiB];
        if (!c.tdxEnabled || h.memoryMiB === null) {
          expect(figures).toEqual([null, null, null, null, null]);
          return;
        }
        expect(c.pamtMiB).toBe(Math.ceil(h.memoryMiB / 256));
        expect(c.tdMemoryMiB).toBe(h.memoryMiB - h.reservedMemoryMiB - c.pamtMiB!);
        const usedKiB = allocatedMemoryKiB(h.module!, usage);
        expect(c.allocatedMemoryMiB).toBe(Math.ceil(usedKiB / 1024));
        expect(c.freeMemoryMiB === 0 || c.excessMemoryMiB === 0).toBe(true);
        expect(c.freeMemoryMiB! * 1024).toBeLessThanOrEqual(Math.max(0, 1024 * c.tdMemoryMiB! - usedKiB));
        expect(c.excessMemoryMiB! * 1024).toBeGreaterThanOrEqual(Math.max(0, usedKiB - 1024 * c.tdMemoryMiB!));
      }),
    );
  });

  it('R5/R7: TDX_DISABLED comes alone; no blocker means a free KeyID, enough free vCPUs and memory, and the TD fits where it would run', () => {
    fc.assert(
      fc.property(hostArb, usageArb, tdArb, (h, usage, td) => {
        const { vcpus } = td;
        const blockers = tdFitBlockers(h, usage, td);
        const capacity = hostCapacity(h, usage);
        if (!capacity.tdxEnabled) {
          expect(codes(blockers)).toEqual(['TDX_DISABLED']);
          return;
        }
        expect(codes(blockers)).not.toContain('TDX_DISABLED');
        if (blockers.length === 0) {
          expect(capacity.freeKeyIds).toBeGreaterThanOrEqual(1);
          expect(capacity.freeVcpus).toBeGreaterThanOrEqual(vcpus);
          expect(fitsWhereItRuns(h, vcpus)).toBe(true);
        }
        expect(codes(blockers).includes('VCPUS_EXCEED_KVM_CAP')).toBe(!fitsWhereItRuns(h, vcpus));
        // R7: memory is checked where both are known, against exactly the room left for TDs.
        const memoryFits =
          h.memoryMiB === null ||
          td.memoryMiB === null ||
          allocatedMemoryKiB(h.module!, usage) + tdFootprintKiB(h.module!, { vcpus, memoryMiB: td.memoryMiB }) <= 1024 * capacity.tdMemoryMiB!;
        expect(codes(blockers).includes('INSUFFICIENT_MEMORY')).toBe(!memoryFits);
        // A TD of unknown memory is as if it had none: the memory it would add counts 0.
        if (td.memoryMiB === null) expect(tdFitBlockers(h, usage, { vcpus, memoryMiB: 0 }).length).toBeGreaterThanOrEqual(blockers.length);
      }),
    );
  });

  it('R7: the footprints regrouped from a host usage equal the sum of each TD footprint', () => {
    const tds = fc.array(fc.record({ vcpus: fc.integer({ min: 1, max: 1024 }), memoryMiB: fc.integer({ min: 0, max: 65536 }) }), { maxLength: 20 });
    const pages = fc.record({ tdcsPages: fc.integer({ min: 0, max: 32 }), tdvpsPages: fc.integer({ min: 0, max: 32 }) });
    fc.assert(
      fc.property(tds, pages, (list, module) => {
        const usage: HostUsage = {
          tdCount: list.length,
          allocatedVcpus: list.reduce((n, t) => n + t.vcpus, 0),
          knownMemoryTdCount: list.length,
          knownMemoryTdVcpus: list.reduce((n, t) => n + t.vcpus, 0),
          knownMemoryTdMiB: list.reduce((n, t) => n + t.memoryMiB, 0),
        };
        expect(allocatedMemoryKiB(module, usage)).toBe(list.reduce((n, t) => n + tdFootprintKiB(module, t), 0));
      }),
    );
  });

  it('N1: the floor is the largest member of any component, and at least 1', () => {
    const member = fc.record({ name: fc.string({ maxLength: 4 }), value: fc.integer({ min: 1, max: 4096 }) });
    const members = fc.array(member, { maxLength: 6 });
    fc.assert(
      fc.property(members, members, members, (hs, ts, ps) => {
        const result = moduleFloor({
          hosts: hs.map((m) => ({ hostname: m.name, presentCpus: m.value })),
          tds: ts.map((m) => ({ name: m.name, vcpus: m.value })),
          platforms: ps.map((m) => ({ name: m.name, maxLogicalCpus: m.value })),
        });
        const all = [...hs, ...ts, ...ps].map((m) => m.value);
        for (const v of all) expect(result.floor).toBeGreaterThanOrEqual(v);
        expect(result.floor).toBe(Math.max(1, ...all));
        expect(result.boundBy.length > 0).toBe(all.length > 0);
        for (const c of [result.hostPresentCpus, result.tdVcpus, result.platformMaxLogicalCpus]) {
          expect(c.value === null).toBe(c.boundBy.length === 0);
        }
      }),
    );
  });
});
