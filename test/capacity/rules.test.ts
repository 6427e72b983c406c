// Unit tests of src/capacity/rules.ts, rule by rule (ids from shared/domain.md).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  effectiveMaxVcpusPerTd,
  fitsWhereItRuns,
  fullyPopulatedPlatform,
  hostCapacity,
  kvmCapMaxVcpus,
  maxLogicalCpus,
  migrationBlockers,
  moduleFloor,
  systemKvmCapMaxVcpus,
  tdFitBlockers,
  tdxDisabledReasons,
  tdxEnabled,
  U16_MAX,
  type HostFacts,
  type KernelFacts,
  type ModuleFacts,
} from '../../src/capacity/rules.js';

const MIGRATION = { minExportVersion: 1, maxExportVersion: 2, minImportVersion: 1, maxImportVersion: 2 };
const tdx15: ModuleFacts = { maxVcpusPerTd: 576, features: ['TOPOLOGY_ENUM'], migration: MIGRATION };
const upstream: KernelFacts = { kvmMaxVcpus: 4096, tdxVcpuPolicy: 'PRESENT_CPUS' };
const v19: KernelFacts = { kvmMaxVcpus: 4096, tdxVcpuPolicy: 'MODULE_LIMIT' };

function host(overrides: Partial<HostFacts> = {}): HostFacts {
  return { presentCpus: 256, guestKeyIds: 64, allocationRatio: 1, module: tdx15, moduleSupportsPlatform: true, kernel: upstream, ...overrides };
}
const idle = { tdCount: 0, allocatedVcpus: 0 };

describe('R1 TDX enabled', () => {
  it.each([
    [256, true],
    [512, true],
    [576, true], // the tie: MAX_VCPUS_PER_TD == present CPUs keeps TDX
    [577, false],
    [1376, false],
  ])('R1: a TDX 1.5 module (576) on a host with %i present CPUs: enabled=%s', (presentCpus, enabled) => {
    expect(tdxEnabled(host({ presentCpus }))).toBe(enabled);
  });

  it('R1: the message carries both numbers, as tdx.c prints them', () => {
    expect(tdxDisabledReasons(host({ presentCpus: 1376 }))).toEqual([
      { code: 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS', message: 'MAX_VCPUS_PER_TD 576 < 1376 present CPUs' },
    ]);
  });

  it('R1: MODULE_LIMIT (v19) keeps TDX on a host with more CPUs than the module limit', () => {
    expect(tdxEnabled(host({ presentCpus: 1376, kernel: v19 }))).toBe(true);
  });

  it('R1: reports every failing condition, not just the first', () => {
    const codes = tdxDisabledReasons(
      host({ presentCpus: 1376, guestKeyIds: 0, moduleSupportsPlatform: false, module: { ...tdx15, features: [] } }),
    ).map((r) => r.code);
    expect(codes).toEqual(['PLATFORM_UNSUPPORTED', 'NO_TOPOLOGY_ENUM', 'NO_GUEST_KEYIDS', 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS']);
  });

  it('R1: without a module, NO_MODULE (and NO_GUEST_KEYIDS, which does not depend on it)', () => {
    expect(tdxDisabledReasons(host({ module: null })).map((r) => r.code)).toEqual(['NO_MODULE']);
    expect(tdxDisabledReasons(host({ module: null, guestKeyIds: 0 })).map((r) => r.code)).toEqual(['NO_MODULE', 'NO_GUEST_KEYIDS']);
  });

  it('R1: each condition alone', () => {
    expect(tdxDisabledReasons(host({ moduleSupportsPlatform: false })).map((r) => r.code)).toEqual(['PLATFORM_UNSUPPORTED']);
    expect(tdxDisabledReasons(host({ module: { ...tdx15, features: [] } })).map((r) => r.code)).toEqual(['NO_TOPOLOGY_ENUM']);
    expect(tdxDisabledReasons(host({ guestKeyIds: 0 })).map((r) => r.code)).toEqual(['NO_GUEST_KEYIDS']);
  });
});

describe('R2 old modules', () => {
  it('R2: a module that does not report MAX_VCPUS_PER_TD counts as 65535 (U16_MAX)', () => {
    const old: ModuleFacts = { ...tdx15, maxVcpusPerTd: null };
    expect(effectiveMaxVcpusPerTd(old)).toBe(U16_MAX);
    expect(tdxEnabled(host({ presentCpus: 1376, module: old }))).toBe(true);
    expect(kvmCapMaxVcpus(host({ module: old, kernel: v19 }))).toEqual({ value: 4096, limitedBy: ['KVM_MAX_VCPUS'] });
  });
});

describe('R3 effective KVM_CAP_MAX_VCPUS', () => {
  it('R3: PRESENT_CPUS gives min(KVM_MAX_VCPUS, present CPUs)', () => {
    expect(kvmCapMaxVcpus(host({ presentCpus: 256 }))).toEqual({ value: 256, limitedBy: ['PRESENT_CPUS'] });
  });

  it('R3: MODULE_LIMIT gives min(KVM_MAX_VCPUS, MAX_VCPUS_PER_TD): the two policies differ on one host', () => {
    expect(kvmCapMaxVcpus(host({ presentCpus: 256, kernel: v19 }))).toEqual({ value: 576, limitedBy: ['MODULE_MAX_VCPUS_PER_TD'] });
  });

  it('R3: KVM_MAX_VCPUS 1024 binds a 2.0 module on a big host', () => {
    const tdx20: ModuleFacts = { ...tdx15, maxVcpusPerTd: 2048 };
    expect(kvmCapMaxVcpus(host({ presentCpus: 1376, module: tdx20, kernel: { kvmMaxVcpus: 1024, tdxVcpuPolicy: 'PRESENT_CPUS' } }))).toEqual({
      value: 1024,
      limitedBy: ['KVM_MAX_VCPUS'],
    });
    expect(kvmCapMaxVcpus(host({ presentCpus: 1376, module: tdx20 }))).toEqual({ value: 1376, limitedBy: ['PRESENT_CPUS'] });
  });

  it('R3: ties name every binding factor', () => {
    expect(kvmCapMaxVcpus(host({ presentCpus: 1024, module: { ...tdx15, maxVcpusPerTd: 2048 }, kernel: { kvmMaxVcpus: 1024, tdxVcpuPolicy: 'PRESENT_CPUS' } }))).toEqual({
      value: 1024,
      limitedBy: ['KVM_MAX_VCPUS', 'PRESENT_CPUS'],
    });
    expect(kvmCapMaxVcpus(host({ kernel: { kvmMaxVcpus: 576, tdxVcpuPolicy: 'MODULE_LIMIT' } }))).toEqual({
      value: 576,
      limitedBy: ['KVM_MAX_VCPUS', 'MODULE_MAX_VCPUS_PER_TD'],
    });
  });

  it('R3: null when TDX is disabled', () => {
    expect(kvmCapMaxVcpus(host({ presentCpus: 577 }))).toBeNull();
    expect(kvmCapMaxVcpus(host({ module: null }))).toBeNull();
  });
});

describe('R4 non-TD VMs', () => {
  it('R4: without a VM, KVM_CAP_MAX_VCPUS is KVM_MAX_VCPUS whatever the policy', () => {
    expect(systemKvmCapMaxVcpus(upstream)).toBe(4096);
    expect(systemKvmCapMaxVcpus({ kvmMaxVcpus: 1024, tdxVcpuPolicy: 'MODULE_LIMIT' })).toBe(1024);
  });
});

describe('host capacity (R1, R3, R5 usage)', () => {
  it('R5: key IDs and vCPUs used and free; schedulable vCPUs round down', () => {
    expect(hostCapacity(host({ presentCpus: 192, allocationRatio: 1.5, guestKeyIds: 4 }), { tdCount: 5, allocatedVcpus: 300 })).toEqual({
      tdxEnabled: true,
      tdxDisabledReasons: [],
      kvmCapMaxVcpus: 192,
      kvmCapMaxVcpusLimitedBy: ['PRESENT_CPUS'],
      usedKeyIds: 5,
      freeKeyIds: 0,
      allocatedVcpus: 300,
      schedulableVcpus: 288,
      freeVcpus: 0,
    });
    expect(hostCapacity(host({ presentCpus: 3, allocationRatio: 1.1 }), idle).schedulableVcpus).toBe(3);
    expect(hostCapacity(host({ presentCpus: 10, allocationRatio: 1.1 }), idle).schedulableVcpus).toBe(11);
  });
});

describe('R5 fit', () => {
  it('R5: a TD fits when every condition holds', () => {
    expect(tdFitBlockers(host(), idle, 256)).toEqual([]);
  });
  it('R5: each blocker alone, with its numbers', () => {
    expect(tdFitBlockers(host({ allocationRatio: 2 }), idle, 257)).toEqual([{ code: 'VCPUS_EXCEED_KVM_CAP', message: '257 vCPUs > KVM_CAP_MAX_VCPUS 256' }]);
    expect(tdFitBlockers(host({ guestKeyIds: 2 }), { tdCount: 2, allocatedVcpus: 8 }, 8)).toEqual([
      { code: 'NO_FREE_KEYID', message: 'all 2 guest KeyIDs are in use by 2 TDs' },
    ]);
    expect(tdFitBlockers(host(), { tdCount: 3, allocatedVcpus: 250 }, 8)).toEqual([
      { code: 'INSUFFICIENT_VCPUS', message: '250 allocated + 8 vCPUs > 256 schedulable vCPUs' },
    ]);
  });
  it('R5: several blockers together', () => {
    expect(tdFitBlockers(host({ guestKeyIds: 1 }), { tdCount: 1, allocatedVcpus: 200 }, 300).map((b) => b.code)).toEqual([
      'VCPUS_EXCEED_KVM_CAP',
      'NO_FREE_KEYID',
      'INSUFFICIENT_VCPUS',
    ]);
  });
  it('R5: where TDX is disabled, TDX_DISABLED is the only blocker and says why', () => {
    expect(tdFitBlockers(host({ presentCpus: 1376, guestKeyIds: 0 }), idle, 4096)).toEqual([
      { code: 'TDX_DISABLED', message: 'TDX is disabled: no TDX private KeyIDs available for guests; MAX_VCPUS_PER_TD 576 < 1376 present CPUs' },
    ]);
  });
  it('R5: a placed TD fits where it runs when TDX is enabled and it is within the cap', () => {
    expect(fitsWhereItRuns(host(), 256)).toBe(true);
    expect(fitsWhereItRuns(host(), 257)).toBe(false);
    expect(fitsWhereItRuns(host({ presentCpus: 577 }), 4)).toBe(false);
  });
});

describe('R6 migration', () => {
  const td = { vcpus: 8, migratable: true, hostId: 1 };
  const target = host();
  it('R6: compatible when every condition holds', () => {
    expect(migrationBlockers({ td, sourceModule: tdx15, targetHostId: 2, targetHost: target, targetUsage: idle })).toEqual([]);
  });
  it('R6: not migratable, same host, and the R5 codes, all at once', () => {
    const codes = migrationBlockers({
      td: { ...td, migratable: false, vcpus: 300 },
      sourceModule: tdx15,
      targetHostId: 1,
      targetHost: target,
      targetUsage: idle,
    }).map((b) => b.code);
    expect(codes).toEqual(['NOT_MIGRATABLE', 'SAME_HOST', 'VCPUS_EXCEED_KVM_CAP', 'INSUFFICIENT_VCPUS']);
  });
  it('R6: a module without migration support cannot be a source or a target', () => {
    const noMigration = { ...tdx15, migration: null };
    expect(migrationBlockers({ td, sourceModule: noMigration, targetHostId: 2, targetHost: target, targetUsage: idle })).toEqual([
      { code: 'MIGRATION_UNSUPPORTED', message: "the source host's TDX module declares no migration support" },
    ]);
    expect(migrationBlockers({ td, sourceModule: tdx15, targetHostId: 2, targetHost: host({ module: noMigration }), targetUsage: idle }).map((b) => b.code)).toEqual([
      'MIGRATION_UNSUPPORTED',
    ]);
  });
  it('R6: the source export range must overlap the target import range', () => {
    const newer = { ...tdx15, migration: { minExportVersion: 3, maxExportVersion: 4, minImportVersion: 3, maxImportVersion: 4 } };
    expect(migrationBlockers({ td, sourceModule: tdx15, targetHostId: 2, targetHost: host({ module: newer }), targetUsage: idle })).toEqual([
      { code: 'MIGRATION_VERSION_MISMATCH', message: 'source exports versions 1-2, target imports 3-4' },
    ]);
    const overlapping = { ...tdx15, migration: { minExportVersion: 2, maxExportVersion: 3, minImportVersion: 2, maxImportVersion: 3 } };
    expect(migrationBlockers({ td, sourceModule: tdx15, targetHostId: 2, targetHost: host({ module: overlapping }), targetUsage: idle })).toEqual([]);
  });
});

describe('N1 module floor', () => {
  it('N1: the largest of hosts\' present CPUs, placed TDs\' vCPUs and supported platforms\' logical CPUs, with what binds', () => {
    const floor = moduleFloor({
      hosts: [{ hostname: 'a', presentCpus: 256 }, { hostname: 'b', presentCpus: 512 }],
      tds: [{ name: 't1', vcpus: 64 }, { name: 't2', vcpus: 512 }],
      platforms: [{ name: 'EMR-2S', maxLogicalCpus: 256 }, { name: 'GNR-AP-2S', maxLogicalCpus: 512 }],
    });
    expect(floor).toEqual({
      floor: 512,
      hostPresentCpus: { value: 512, boundBy: ['b'] },
      tdVcpus: { value: 512, boundBy: ['t2'] },
      platformMaxLogicalCpus: { value: 512, boundBy: ['GNR-AP-2S'] },
      boundBy: ['HOST_PRESENT_CPUS', 'TD_VCPUS', 'PLATFORM_MAX_LOGICAL_CPUS'],
    });
  });
  it('N1: a module that runs nothing and supports nothing has floor 1', () => {
    expect(moduleFloor({ hosts: [], tds: [], platforms: [] })).toMatchObject({ floor: 1, boundBy: [] });
  });
});

describe('N3 module x platform', () => {
  it('N3: a fully populated GNR-SP-4S (688) disables a 576 module under PRESENT_CPUS, not under MODULE_LIMIT', () => {
    const gnr4s = { sockets: 4, coresPerSocket: 86, threadsPerCore: 2 };
    expect(maxLogicalCpus(gnr4s)).toBe(688);
    expect(fullyPopulatedPlatform(tdx15, gnr4s, upstream)).toMatchObject({ tdxEnabled: false, kvmCapMaxVcpus: null });
    expect(fullyPopulatedPlatform(tdx15, gnr4s, v19)).toMatchObject({ tdxEnabled: true, kvmCapMaxVcpus: { value: 576 } });
  });
});

describe('invariants (property)', () => {
  const moduleArb = fc.record({
    maxVcpusPerTd: fc.option(fc.integer({ min: 1, max: 65535 }), { nil: null }),
    features: fc.subarray(['TOPOLOGY_ENUM']),
    migration: fc.constant(null),
  });
  const hostArb = fc.record({
    presentCpus: fc.integer({ min: 1, max: 4096 }),
    guestKeyIds: fc.integer({ min: 0, max: 128 }),
    allocationRatio: fc.constantFrom(0.5, 1, 1.5, 2),
    module: fc.option(moduleArb, { nil: null }),
    moduleSupportsPlatform: fc.boolean(),
    kernel: fc.record({ kvmMaxVcpus: fc.integer({ min: 1, max: 4096 }), tdxVcpuPolicy: fc.constantFrom('PRESENT_CPUS' as const, 'MODULE_LIMIT' as const) }),
  });
  it('R1/R3: the cap is null iff TDX is disabled, never above KVM_MAX_VCPUS, and every binding factor equals it', () => {
    fc.assert(
      fc.property(hostArb, (h) => {
        const reasons = tdxDisabledReasons(h);
        const cap = kvmCapMaxVcpus(h);
        expect(cap === null).toBe(reasons.length > 0);
        if (cap) {
          expect(cap.value).toBeLessThanOrEqual(h.kernel.kvmMaxVcpus);
          expect(cap.limitedBy.length).toBeGreaterThan(0);
          for (const factor of cap.limitedBy) {
            const value = factor === 'KVM_MAX_VCPUS' ? h.kernel.kvmMaxVcpus : factor === 'PRESENT_CPUS' ? h.presentCpus : effectiveMaxVcpusPerTd(h.module!);
            expect(value).toBe(cap.value);
          }
        }
      }),
    );
  });
  it('R5: a TD fits only where TDX is enabled and within the cap', () => {
    fc.assert(
      fc.property(hostArb, fc.integer({ min: 1, max: 4096 }), (h, vcpus) => {
        if (tdFitBlockers(h, idle, vcpus).length === 0) {
          expect(fitsWhereItRuns(h, vcpus)).toBe(true);
        }
      }),
    );
  });
});
