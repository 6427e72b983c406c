// Unit tests of the pure capacity rules (shared/domain.md R1-R6, N1, N3). Every test name starts
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
} from '../../src/capacity/rules.js';

const migrationV1: MigrationVersions = { minExportVersion: 1, maxExportVersion: 2, minImportVersion: 1, maxImportVersion: 2 };

/** TDX 1.5.xx: MAX_VCPUS_PER_TD 576. */
const tdx15: ModuleFacts = { maxVcpusPerTd: 576, features: ['TOPOLOGY_ENUM'], migration: migrationV1 };
/** TDX 2.0.xx: more than 1000. */
const tdx20: ModuleFacts = { maxVcpusPerTd: 2048, features: ['TOPOLOGY_ENUM'], migration: migrationV1 };
/** An old module that does not report MAX_VCPUS_PER_TD. */
const unreported: ModuleFacts = { maxVcpusPerTd: null, features: ['TOPOLOGY_ENUM'], migration: null };

const upstream: KernelFacts = { kvmMaxVcpus: 1024, tdxVcpuPolicy: 'PRESENT_CPUS' };
const v19: KernelFacts = { kvmMaxVcpus: 1024, tdxVcpuPolicy: 'MODULE_LIMIT' };

function host(overrides: Partial<HostFacts> = {}): HostFacts {
  return {
    presentCpus: 256,
    guestKeyIds: 64,
    allocationRatio: 1,
    module: tdx15,
    moduleSupportsPlatform: true,
    kernel: upstream,
    ...overrides,
  };
}

const idle: HostUsage = { tdCount: 0, allocatedVcpus: 0 };
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
  it('R1: the code list is exactly the five reasons', () => {
    expect([...TDX_DISABLED_REASON_CODES]).toEqual([
      'NO_MODULE',
      'PLATFORM_UNSUPPORTED',
      'NO_TOPOLOGY_ENUM',
      'NO_GUEST_KEYIDS',
      'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS',
    ]);
  });

  it.each([256, 512, 576])('R1: a 576 module keeps TDX enabled on a %i-CPU host under PRESENT_CPUS', (presentCpus) => {
    const h = host({ presentCpus });
    expect(tdxDisabledReasons(h)).toEqual([]);
    expect(tdxEnabled(h)).toBe(true);
  });

  it.each([577, 1376])('R1: a 576 module disables TDX on a %i-CPU host under PRESENT_CPUS', (presentCpus) => {
    const h = host({ presentCpus });
    expect(tdxDisabledReasons(h)).toEqual([{ code: 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS', message: `MAX_VCPUS_PER_TD 576 < ${presentCpus} present CPUs` }]);
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
      { code: 'PLATFORM_UNSUPPORTED', message: "the TDX module does not support the host's platform" },
    ]);
  });

  it('R1: a module without TOPOLOGY_ENUM alone', () => {
    expect(codes(tdxDisabledReasons(host({ module: { ...tdx15, features: [] } })))).toEqual(['NO_TOPOLOGY_ENUM']);
  });

  it('R1: no guest KeyIDs alone, with the number', () => {
    expect(tdxDisabledReasons(host({ guestKeyIds: 0 }))).toEqual([
      { code: 'NO_GUEST_KEYIDS', message: '0 guest KeyIDs configured: no TDX private KeyIDs available' },
    ]);
  });

  it('R1: every failing condition is reported at once', () => {
    const h = host({ presentCpus: 1376, guestKeyIds: 0, moduleSupportsPlatform: false, module: { ...tdx15, features: [] } });
    expect(codes(tdxDisabledReasons(h))).toEqual(['PLATFORM_UNSUPPORTED', 'NO_TOPOLOGY_ENUM', 'NO_GUEST_KEYIDS', 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS']);
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
    expect(kvmCapMaxVcpus(host({ ...big, kernel: { kvmMaxVcpus: 1024, tdxVcpuPolicy: 'PRESENT_CPUS' } }))).toEqual({
      value: 1024,
      limitedBy: ['KVM_MAX_VCPUS'],
    });
    expect(kvmCapMaxVcpus(host({ ...big, kernel: { kvmMaxVcpus: 4096, tdxVcpuPolicy: 'PRESENT_CPUS' } }))).toEqual({
      value: 1376,
      limitedBy: ['PRESENT_CPUS'],
    });
  });

  it('R3: KVM_MAX_VCPUS 1024 binds a 2048 module, 4096 lets the module bind (MODULE_LIMIT)', () => {
    expect(kvmCapMaxVcpus(host({ module: tdx20, kernel: { kvmMaxVcpus: 1024, tdxVcpuPolicy: 'MODULE_LIMIT' } }))).toEqual({
      value: 1024,
      limitedBy: ['KVM_MAX_VCPUS'],
    });
    expect(kvmCapMaxVcpus(host({ module: tdx20, kernel: { kvmMaxVcpus: 4096, tdxVcpuPolicy: 'MODULE_LIMIT' } }))).toEqual({
      value: 2048,
      limitedBy: ['MODULE_MAX_VCPUS_PER_TD'],
    });
  });

  it('R3: an unreported module limit (65535) leaves KVM_MAX_VCPUS binding under MODULE_LIMIT', () => {
    expect(kvmCapMaxVcpus(host({ module: unreported, kernel: { kvmMaxVcpus: 4096, tdxVcpuPolicy: 'MODULE_LIMIT' } }))).toEqual({
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
    expect(systemKvmCapMaxVcpus({ kvmMaxVcpus: 4096, tdxVcpuPolicy: 'PRESENT_CPUS' })).toBe(4096);
  });
});

describe('R5: host capacity and fitting a TD', () => {
  it('R5: hostCapacity of an enabled host shows the cap, KeyIDs and vCPUs', () => {
    expect(hostCapacity(host({ guestKeyIds: 16, allocationRatio: 1.5 }), { tdCount: 3, allocatedVcpus: 100 })).toEqual({
      tdxEnabled: true,
      tdxDisabledReasons: [],
      kvmCapMaxVcpus: 256,
      kvmCapMaxVcpusLimitedBy: ['PRESENT_CPUS'],
      usedKeyIds: 3,
      freeKeyIds: 13,
      allocatedVcpus: 100,
      schedulableVcpus: 384,
      freeVcpus: 284,
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
    const capacity = hostCapacity(host({ guestKeyIds: 2 }), { tdCount: 5, allocatedVcpus: 300 });
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

  it('R5: the code list is exactly the four blockers', () => {
    expect([...FIT_BLOCKER_CODES]).toEqual(['TDX_DISABLED', 'VCPUS_EXCEED_KVM_CAP', 'NO_FREE_KEYID', 'INSUFFICIENT_VCPUS']);
  });

  it('R5: a TD fits at the exact limits (vcpus = cap, last KeyID, last vCPU)', () => {
    const h = host({ guestKeyIds: 4 });
    expect(tdFitBlockers(h, { tdCount: 3, allocatedVcpus: 0 }, 256)).toEqual([]);
    expect(tdFitBlockers(h, { tdCount: 3, allocatedVcpus: 200 }, 56)).toEqual([]);
  });

  it('R5: VCPUS_EXCEED_KVM_CAP alone', () => {
    // Ratio 2 leaves room for 512 vCPUs, but the cap under PRESENT_CPUS is 256.
    expect(tdFitBlockers(host({ allocationRatio: 2 }), idle, 300)).toEqual([
      { code: 'VCPUS_EXCEED_KVM_CAP', message: '300 vCPUs > KVM_CAP_MAX_VCPUS 256 (limited by PRESENT_CPUS)' },
    ]);
  });

  it('R5: NO_FREE_KEYID alone', () => {
    expect(tdFitBlockers(host({ guestKeyIds: 4 }), { tdCount: 4, allocatedVcpus: 16 }, 8)).toEqual([
      { code: 'NO_FREE_KEYID', message: 'no free guest KeyID: 4 TDs placed, 4 guest KeyIDs' },
    ]);
  });

  it('R5: INSUFFICIENT_VCPUS alone', () => {
    expect(tdFitBlockers(host(), { tdCount: 2, allocatedVcpus: 200 }, 64)).toEqual([
      { code: 'INSUFFICIENT_VCPUS', message: '200 allocated + 64 vCPUs > 256 schedulable vCPUs' },
    ]);
  });

  it('R5: all three capacity blockers together', () => {
    expect(codes(tdFitBlockers(host({ guestKeyIds: 2 }), { tdCount: 2, allocatedVcpus: 10 }, 300))).toEqual([
      'VCPUS_EXCEED_KVM_CAP',
      'NO_FREE_KEYID',
      'INSUFFICIENT_VCPUS',
    ]);
  });

  it('R5: where TDX is disabled TDX_DISABLED is the only blocker, summarising the R1 reasons', () => {
    const h = host({ presentCpus: 1376, guestKeyIds: 0 });
    expect(tdFitBlockers(h, { tdCount: 9, allocatedVcpus: 5000 }, 4000)).toEqual([
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
      td: { vcpus: 64, migratable: true, hostId: 1 },
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
      'MIGRATION_UNSUPPORTED',
      'MIGRATION_VERSION_MISMATCH',
    ]);
  });

  it('R6: a migratable TD that fits on another host with overlapping versions has no blocker', () => {
    expect(migrationBlockers(move())).toEqual([]);
  });

  it('R6: NOT_MIGRATABLE alone', () => {
    expect(codes(migrationBlockers(move({ td: { vcpus: 64, migratable: false, hostId: 1 } })))).toEqual(['NOT_MIGRATABLE']);
  });

  it('R6: SAME_HOST alone', () => {
    expect(migrationBlockers(move({ targetHostId: 1 }))).toEqual([{ code: 'SAME_HOST', message: 'the TD already runs on the target host 1' }]);
  });

  it('R6: the R5 blockers of the target', () => {
    expect(codes(migrationBlockers(move({ targetHost: host({ presentCpus: 1376 }) })))).toEqual(['TDX_DISABLED']);
    expect(codes(migrationBlockers(move({ td: { vcpus: 300, migratable: true, hostId: 1 } })))).toEqual(['VCPUS_EXCEED_KVM_CAP', 'INSUFFICIENT_VCPUS']);
    expect(codes(migrationBlockers(move({ targetHost: host({ guestKeyIds: 1 }), targetUsage: { tdCount: 1, allocatedVcpus: 8 } })))).toEqual(['NO_FREE_KEYID']);
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

  it('R6: every blocker at once', () => {
    const c = move({
      td: { vcpus: 300, migratable: false, hostId: 2 },
      sourceHost: host({ module: null }),
      targetHost: host({ guestKeyIds: 1, module: { ...tdx15, migration: null } }),
      targetUsage: { tdCount: 1, allocatedVcpus: 0 },
    });
    expect(codes(migrationBlockers(c))).toEqual([
      'NOT_MIGRATABLE',
      'SAME_HOST',
      'VCPUS_EXCEED_KVM_CAP',
      'NO_FREE_KEYID',
      'INSUFFICIENT_VCPUS',
      'MIGRATION_UNSUPPORTED',
    ]);
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
    });
    expect(fullyPopulatedPlatform(tdx15, spr2s, v19).kvmCapMaxVcpus).toEqual({ value: 576, limitedBy: ['MODULE_MAX_VCPUS_PER_TD'] });
  });

  it('N3: a platform of exactly MAX_VCPUS_PER_TD logical CPUs is a tie and keeps TDX', () => {
    expect(fullyPopulatedPlatform(tdx15, srf2s, upstream).kvmCapMaxVcpus).toEqual({ value: 576, limitedBy: ['PRESENT_CPUS'] });
  });

  it('N3: a platform larger than MAX_VCPUS_PER_TD loses TDX under PRESENT_CPUS only', () => {
    expect(fullyPopulatedPlatform(tdx15, spr8s, upstream)).toEqual({
      tdxEnabled: false,
      tdxDisabledReasons: [{ code: 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS', message: 'MAX_VCPUS_PER_TD 576 < 960 present CPUs' }],
      kvmCapMaxVcpus: null,
    });
    expect(fullyPopulatedPlatform(tdx15, spr8s, v19).kvmCapMaxVcpus).toEqual({ value: 576, limitedBy: ['MODULE_MAX_VCPUS_PER_TD'] });
    expect(fullyPopulatedPlatform(tdx20, spr8s, upstream).kvmCapMaxVcpus).toEqual({ value: 960, limitedBy: ['PRESENT_CPUS'] });
  });

  it('N3: a module without TOPOLOGY_ENUM fails every platform', () => {
    expect(codes(fullyPopulatedPlatform({ ...tdx15, features: [] }, spr2s, v19).tdxDisabledReasons)).toEqual(['NO_TOPOLOGY_ENUM']);
  });
});

describe('R1-R5: properties on random hosts', () => {
  const moduleArb: fc.Arbitrary<ModuleFacts | null> = fc.option(
    fc.record({
      maxVcpusPerTd: fc.option(fc.integer({ min: 1, max: U16_MAX }), { nil: null }),
      features: fc.constantFrom<readonly string[]>([], ['TOPOLOGY_ENUM']),
      migration: fc.constant(null),
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
    }),
  });
  const usageArb: fc.Arbitrary<HostUsage> = fc.record({
    tdCount: fc.integer({ min: 0, max: 130 }),
    allocatedVcpus: fc.integer({ min: 0, max: 5000 }),
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

  it('R5: TDX_DISABLED comes alone; no blocker means a free KeyID, enough free vCPUs, and the TD fits where it would run', () => {
    fc.assert(
      fc.property(hostArb, usageArb, fc.integer({ min: 1, max: 4096 }), (h, usage, vcpus) => {
        const blockers = tdFitBlockers(h, usage, vcpus);
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
