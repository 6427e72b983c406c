// A deterministic, realistic synthetic fleet for benchmarks and scale tests: the demo fleet's
// platforms, modules and kernels; hosts in a realistic platform mix running a module that supports
// them (a few misconfigured on purpose); TDs of mostly small sizes packed onto hosts until they are
// partly or fully used, some left planned. Same options, same document.
import { maxLogicalCpus } from '../capacity/rules.js';
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
    });
  }
  // Pack TDs onto hosts: a few random tries each; what finds no room stays planned.
  const freeVcpus = hosts.map((h) => Math.floor(h.presentCpus * h.allocationRatio));
  const freeKeys = hosts.map((h) => h.guestKeyIds);
  const tds: TdDoc[] = [];
  for (let i = 0; i < options.tds; i++) {
    const vcpus = weighted(random, TD_SIZES);
    let host: number | null = null;
    if (hosts.length > 0 && random() > 0.03) {
      for (let attempt = 0; attempt < 4 && host === null; attempt++) {
        const h = Math.floor(random() * hosts.length);
        if (freeKeys[h]! > 0 && freeVcpus[h]! >= vcpus && hosts[h]!.module !== null) host = h;
      }
    }
    if (host !== null) {
      freeKeys[host]! -= 1;
      freeVcpus[host]! -= vcpus;
    }
    tds.push({ name: `td-${String(i).padStart(width, '0')}`, vcpus, host: host === null ? null : hosts[host]!.hostname, migratable: random() > 0.1 });
  }
  return { platforms: base.platforms, modules: base.modules, kernels: base.kernels, hosts, tds };
}
