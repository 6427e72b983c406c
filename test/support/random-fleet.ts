// Random fleets for property tests that compare SQL with the pure rules of src/capacity/rules.ts.
// Revision 2 facts vary too: kernel behaviours (FAIL_KVM_LOAD/DISABLE_TDX, STRICT/LENIENT), module
// features (TOPOLOGY_ENUM, NO_RBP_MOD) and control pages, kvm_intel.tdx, and memory (unknown on some
// hosts and TDs, and sized so that hosts fill up and overflow).
import fc from 'fast-check';
import { maxLogicalCpus, type HostFacts, type HostUsage, type TdSize } from '../../src/capacity/rules.js';
import type { InventoryDocument } from '../../src/inventory/document.js';

const PLATFORMS = [
  { name: 'SPR-2S', sockets: 2, coresPerSocket: 56, threadsPerCore: 2 },
  { name: 'GNR-SP-4S', sockets: 4, coresPerSocket: 86, threadsPerCore: 2 },
  { name: 'SRF-AP-2S', sockets: 2, coresPerSocket: 288, threadsPerCore: 1 },
];

/** Random fleets over three platforms: modules with random limits, features and support lists; random hosts. */
export const fleetArb = fc
  .record({
    modules: fc.array(
      fc.record({
        maxVcpusPerTd: fc.option(fc.oneof(fc.constantFrom(224, 576, 688, 1024), fc.integer({ min: 1, max: 2048 })), { nil: null }),
        features: fc.subarray(['NO_RBP_MOD' as const, 'TOPOLOGY_ENUM' as const]),
        platforms: fc.subarray(PLATFORMS.map((p) => p.name)),
        tdcsPages: fc.constantFrom(1, 6, 8),
        tdvpsPages: fc.constantFrom(1, 6, 8),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    kernels: fc.array(
      fc.record({
        kvmMaxVcpus: fc.constantFrom(576, 1024, 4096),
        tdxVcpuPolicy: fc.constantFrom('PRESENT_CPUS' as const, 'MODULE_LIMIT' as const),
        tdxInitFailure: fc.constantFrom('FAIL_KVM_LOAD' as const, 'DISABLE_TDX' as const),
        moduleMetadata: fc.constantFrom('STRICT' as const, 'LENIENT' as const),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    hosts: fc.array(
      fc.record({
        platform: fc.nat(PLATFORMS.length - 1),
        module: fc.option(fc.nat(10), { nil: null }),
        kernel: fc.nat(10),
        cpuShare: fc.constantFrom(0.25, 0.5, 0.8371, 1),
        guestKeyIds: fc.constantFrom(0, 1, 16),
        kvmIntelTdx: fc.constantFrom(true, true, true, true, true, false),
        // Small memories fill up with a few TDs; null is unknown.
        memoryMiB: fc.option(fc.constantFrom(1024, 4096, 65536, 1048576), { nil: null, freq: 5 }),
        reservedMemoryMiB: fc.constantFrom(0, 256),
      }),
      { minLength: 1, maxLength: 25 },
    ),
  })
  .map(({ modules, kernels, hosts }): InventoryDocument => ({
    platforms: PLATFORMS,
    modules: modules.map((m, i) => ({ version: `1.${i}.0`, ...m })),
    kernels: kernels.map((k, i) => ({ name: `k${i}`, ...k })),
    hosts: hosts.map((h, i) => {
      const platform = PLATFORMS[h.platform]!;
      return {
        hostname: `h${i}`,
        platform: platform.name,
        module: h.module === null ? null : `1.${h.module % modules.length}.0`,
        kernel: `k${h.kernel % kernels.length}`,
        presentCpus: Math.max(1, Math.round(maxLogicalCpus(platform) * h.cpuShare)),
        guestKeyIds: h.guestKeyIds,
        allocationRatio: 1,
        kvmIntelTdx: h.kvmIntelTdx,
        memoryMiB: h.memoryMiB,
        reservedMemoryMiB: h.memoryMiB === null ? 0 : Math.min(h.reservedMemoryMiB, h.memoryMiB),
      };
    }),
    tds: [],
  }));

/** The pure rules' facts for each host of a document. */
export function factsOf(doc: InventoryDocument): Map<string, HostFacts> {
  return new Map(
    doc.hosts.map((h) => {
      const module = doc.modules.find((m) => m.version === h.module) ?? null;
      const kernel = doc.kernels.find((k) => k.name === h.kernel)!;
      return [
        h.hostname,
        {
          presentCpus: h.presentCpus,
          guestKeyIds: h.guestKeyIds,
          allocationRatio: h.allocationRatio,
          kernel,
          module: module && {
            maxVcpusPerTd: module.maxVcpusPerTd,
            features: module.features,
            migration: null,
            tdcsPages: module.tdcsPages,
            tdvpsPages: module.tdvpsPages,
          },
          moduleSupportsPlatform: module?.platforms.includes(h.platform) ?? false,
          kvmIntelTdx: h.kvmIntelTdx,
          memoryMiB: h.memoryMiB,
          reservedMemoryMiB: h.reservedMemoryMiB,
        },
      ];
    }),
  );
}

/** TD memory sizes: small, ones that fill the small hosts, and unknown. */
export const tdMemoryArb = fc.option(fc.constantFrom(1, 512, 1000, 4000, 60000), { nil: null, freq: 6 });

/** A random fleet with random TDs placed on its hosts (over-full hosts included) and some planned. */
export const fleetWithTdsArb = fleetArb.chain((doc) =>
  fc
    .array(
      fc.record({ vcpus: fc.constantFrom(1, 2, 8, 64, 200, 576, 700), memoryMiB: tdMemoryArb, host: fc.option(fc.nat(doc.hosts.length - 1), { nil: null }) }),
      { maxLength: 40 },
    )
    .map((tds): InventoryDocument => ({
      ...doc,
      tds: tds.map((t, i) => ({
        name: `td${i}`,
        vcpus: t.vcpus,
        memoryMiB: t.memoryMiB,
        host: t.host === null ? null : doc.hosts[t.host]!.hostname,
        migratable: true,
      })),
    })),
);

/** TD count, vCPUs and the sums of the TDs of known memory (R7) per host of a document. */
export function usageOf(doc: InventoryDocument): Map<string, HostUsage> {
  const usage = new Map<string, HostUsage>(
    doc.hosts.map((h) => [h.hostname, { tdCount: 0, allocatedVcpus: 0, knownMemoryTdCount: 0, knownMemoryTdVcpus: 0, knownMemoryTdMiB: 0 }]),
  );
  for (const td of doc.tds) {
    if (td.host === null) continue;
    const u = usage.get(td.host)!;
    u.tdCount += 1;
    u.allocatedVcpus += td.vcpus;
    if (td.memoryMiB !== null) {
      u.knownMemoryTdCount += 1;
      u.knownMemoryTdVcpus += td.vcpus;
      u.knownMemoryTdMiB += td.memoryMiB;
    }
  }
  return usage;
}

/** A TD's size as the fit rules see it. */
export function sizeOf(td: { vcpus: number; memoryMiB: number | null }): TdSize {
  return { vcpus: td.vcpus, memoryMiB: td.memoryMiB };
}

/**
 * Names PostgreSQL quotes or escapes in a record or array literal (quotes, backslashes, commas,
 * parentheses, braces, spaces, NULL, unicode), none blank: hosts' and TDs' names the tables take.
 * None is a generated fleet's name (h1, host-0001, ...).
 */
export const QUOTED_NAMES = [
  'NULL',
  'null',
  '(x)',
  ')(',
  'a,b',
  '{x}',
  '}{',
  'say "hi"',
  'back\\slash',
  'two words',
  'ünïcødé ✓',
  "it's",
  'x\ty',
  '""',
  '()',
  ' a',
  'b ',
];
export const quotedNameArb = fc
  .oneof(
    fc.constantFrom(...QUOTED_NAMES),
    fc.string({ minLength: 1, maxLength: 12, unit: fc.constantFrom('a', 'Z', '0', ',', '(', ')', '{', '}', '"', '\\', ' ', "'", 'N', 'U', 'L', 'é', '-') }),
  )
  .filter((name) => name.trim() !== '');
