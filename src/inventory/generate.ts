// A deterministic, realistic synthetic fleet for benchmarks and scale tests: the demo fleet's
// platforms, modules and kernels; hosts in a realistic platform mix running a module that supports
// them (a few misconfigured on purpose); TDs of mostly small sizes packed onto hosts until they are
// partly or fully used, some left planned. Revision 2 data: RAM per platform (a few hosts unknown),
// TD memory per vCPU, a few hosts with kvm_intel.tdx=0, and old modules on mainline kernels, so
// some hosts would not load KVM. Same options, same document.
import { maxLogicalCpus, pamtMiB, tdFootprintKiB } from '../capacity/rules.js';
import { demoFleet } from './demo-fleet.js';
import type { HostDoc, InventoryDocument, TdDoc } from './document.js';

export interface GenerateOptions {
  hosts: number;
  tds: number;
  seed: number;
}

/** mulberry32: a small, fast, seedable PRNG; Math.random cannot be seeded. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function weighted<T>(random: () => number, choices: readonly [T, number][]): T {
  const total = choices.reduce((n, [, w]) => n + w, 0);
  let r = random() * total;
  for (const [value, weight] of choices) {
    r -= weight;
    if (r < 0) return value;
  }
  return choices[choices.length - 1]![0];
}

const PLATFORM_MIX: [string, number][] = [
  ['SPR-2S', 20],
  ['EMR-2S', 30],
  ['GNR-AP-2S', 20],
  ['GNR-SP-4S', 8],
  ['SRF-SP-2S', 15],
  ['SRF-AP-2S', 7],
];

const GiB = 1024;

// RAM as deployed, per platform (MiB), with its weight.
const PLATFORM_MEMORY: Record<string, [number, number][]> = {
  'SPR-2S': [
    [512 * GiB, 70],
    [1024 * GiB, 30],
  ],
  'EMR-2S': [
    [1024 * GiB, 70],
    [2048 * GiB, 30],
  ],
  'GNR-AP-2S': [
    [1536 * GiB, 60],
    [3072 * GiB, 40],
  ],
  'GNR-SP-4S': [[2048 * GiB, 100]],
  'SRF-SP-2S': [[512 * GiB, 100]],
  'SRF-AP-2S': [[768 * GiB, 100]],
};

// Private memory per vCPU (MiB): mostly 2-8 GiB, a few memory-heavy TDs.
const MEMORY_PER_VCPU: [number, number][] = [
  [2 * GiB, 30],
  [4 * GiB, 40],
  [8 * GiB, 25],
  [16 * GiB, 5],
];

// Mostly small TDs, a tail of large ones.
const TD_SIZES: [number, number][] = [
  [2, 25],
  [4, 25],
  [8, 20],
  [16, 12],
  [32, 8],
  [64, 5],
  [128, 3],
  [256, 1.5],
  [512, 0.5],
];

export function generateFleet(options: GenerateOptions): InventoryDocument {
  const random = prng(options.seed);
  const base = demoFleet();
  const platforms = new Map(base.platforms.map((p) => [p.name, p]));
  const prefix = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '');
  const width = String(Math.max(options.hosts, options.tds)).length;
  const hosts: HostDoc[] = [];
  for (let i = 0; i < options.hosts; i++) {
    const platform = platforms.get(weighted(random, PLATFORM_MIX))!;
    // Old modules (no TOPOLOGY_ENUM) stay on the 1% misconfigured hosts only.
    const supporting = base.modules.filter((m) => m.platforms.includes(platform.name) && m.features.includes('TOPOLOGY_ENUM'));
    const logical = maxLogicalCpus(platform);
    const misconfigured = random() < 0.01;
    // Newer modules dominate; old ones linger on a few hosts.
    const module = misconfigured && random() < 0.5 ? null : (supporting[Math.floor(random() * random() * supporting.length)] ?? null);
    hosts.push({
      hostname: `${prefix(platform.name)}-${String(i).padStart(width, '0')}`,
      platform: platform.name,
      module: module?.version ?? null,
      kernel: weighted(random, [
        ['linux-6.16', 60],
        ['distro-6.12-tdx', 35],
        ['tdx-v19-6.8', 5],
      ]),
      presentCpus: random() < 0.1 ? Math.max(1, Math.round(logical * 0.75)) : logical,
      guestKeyIds: misconfigured
        ? 0
        : weighted(random, [
            [64, 70],
            [128, 30],
          ]),
      allocationRatio: random() < 0.2 ? 1.5 : 1,
      // A few hosts boot with kvm_intel.tdx=0 (TDX_NOT_REQUESTED).
      kvmIntelTdx: random() >= 0.02,
      // Memory is unknown on a few hosts (not yet inventoried); 16 GiB kept for the host itself.
      ...(random() < 0.05
        ? { memoryMiB: null, reservedMemoryMiB: 0 }
        : { memoryMiB: weighted(random, PLATFORM_MEMORY[platform.name] ?? [[512 * GiB, 1]]), reservedMemoryMiB: 16 * GiB }),
    });
  }
  const modulePages = new Map(base.modules.map((m) => [m.version, m]));
  // Pack TDs onto hosts: a few random tries each; what finds no room stays planned. Memory is
  // packed to R7's footprints (in KiB), so hosts fill up on memory as well as on vCPUs.
  const freeVcpus = hosts.map((h) => Math.floor(h.presentCpus * h.allocationRatio));
  const freeKeys = hosts.map((h) => h.guestKeyIds);
  const freeKiB = hosts.map((h) => (h.memoryMiB === null ? Infinity : 1024 * (h.memoryMiB - h.reservedMemoryMiB - pamtMiB(h.memoryMiB))));
  const tds: TdDoc[] = [];
  for (let i = 0; i < options.tds; i++) {
    const vcpus = weighted(random, TD_SIZES);
    // A few TDs were recorded without their memory.
    const memoryMiB = random() < 0.03 ? null : vcpus * weighted(random, MEMORY_PER_VCPU);
    const footprintOn = (h: HostDoc): number => {
      const module = h.module === null ? undefined : modulePages.get(h.module);
      return memoryMiB === null || module === undefined ? 0 : tdFootprintKiB(module, { vcpus, memoryMiB });
    };
    let host: number | null = null;
    if (hosts.length > 0 && random() > 0.03) {
      for (let attempt = 0; attempt < 4 && host === null; attempt++) {
        const h = Math.floor(random() * hosts.length);
        if (freeKeys[h]! > 0 && freeVcpus[h]! >= vcpus && hosts[h]!.module !== null && freeKiB[h]! >= footprintOn(hosts[h]!)) host = h;
      }
    }
    if (host !== null) {
      freeKeys[host]! -= 1;
      freeVcpus[host]! -= vcpus;
      freeKiB[host]! -= footprintOn(hosts[host]!);
    }
    tds.push({
      name: `td-${String(i).padStart(width, '0')}`,
      vcpus,
      host: host === null ? null : hosts[host]!.hostname,
      migratable: random() > 0.1,
      memoryMiB,
    });
  }
  return { platforms: base.platforms, modules: base.modules, kernels: base.kernels, hosts, tds };
}
