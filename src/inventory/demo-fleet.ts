// A small, realistic demo fleet: what `npm start` loads into a new embedded database and what
// `tdplan seed` merges. Every R1 outcome of shared/domain.md appears at least once, with both
// effects of revision 2: hosts whose KVM would not load (a mainline kernel meeting an old module
// or too many CPUs), hosts with kvm_intel.tdx=0, and hosts short of memory (R7).
import type { HostDoc, InventoryDocument, KernelDoc, TdDoc } from './document.js';

const MIGRATION_V1_2 = { minExportVersion: 1, maxExportVersion: 2, minImportVersion: 1, maxImportVersion: 2 };

const GiB = 1024;

/** Mainline (Linux 6.16 and later) and the v19 series as distributions backported it (R1 v2, R2). */
const MAINLINE = { tdxInitFailure: 'FAIL_KVM_LOAD', moduleMetadata: 'STRICT' } as const satisfies Partial<KernelDoc>;
const V19_SERIES = { tdxInitFailure: 'DISABLE_TDX', moduleMetadata: 'LENIENT' } as const satisfies Partial<KernelDoc>;

function host(
  hostname: string,
  platform: string,
  module: string | null,
  kernel: string,
  presentCpus: number,
  guestKeyIds: number,
  memoryMiB: number | null,
  more: Partial<Pick<HostDoc, 'allocationRatio' | 'kvmIntelTdx' | 'reservedMemoryMiB'>> = {},
): HostDoc {
  // 16 GiB kept for the host itself where its memory is known.
  const reservedMemoryMiB = memoryMiB === null ? 0 : 16 * GiB;
  return { hostname, platform, module, kernel, presentCpus, guestKeyIds, allocationRatio: 1.0, kvmIntelTdx: true, memoryMiB, reservedMemoryMiB, ...more };
}

function td(name: string, vcpus: number, memoryMiB: number | null, hostname: string | null, migratable = true): TdDoc {
  return { name, vcpus, host: hostname, migratable, memoryMiB };
}

export function demoFleet(): InventoryDocument {
  return {
    platforms: [
      { name: 'SPR-2S', sockets: 2, coresPerSocket: 56, threadsPerCore: 2 }, // Sapphire Rapids: 224
      { name: 'EMR-2S', sockets: 2, coresPerSocket: 64, threadsPerCore: 2 }, // Emerald Rapids: 256
      { name: 'GNR-AP-2S', sockets: 2, coresPerSocket: 128, threadsPerCore: 2 }, // Granite Rapids AP: 512
      { name: 'GNR-SP-4S', sockets: 4, coresPerSocket: 86, threadsPerCore: 2 }, // Granite Rapids SP 4-socket: 688 > 576
      { name: 'SRF-SP-2S', sockets: 2, coresPerSocket: 144, threadsPerCore: 1 }, // Sierra Forest SP: 288
      { name: 'SRF-AP-2S', sockets: 2, coresPerSocket: 288, threadsPerCore: 1 }, // Sierra Forest AP: 576, a tie with TDX 1.5
    ],
    modules: [
      // Old 1.5 modules predate MAX_VCPUS_PER_TD (R2: 65535 on LENIENT kernels) and NO_RBP_MOD, so a
      // mainline kernel cannot initialise them (R1 v2); the oldest also lacks TOPOLOGY_ENUM.
      { version: '1.5.00.00.0481', maxVcpusPerTd: null, features: [], platforms: ['SPR-2S'], tdcsPages: 6, tdvpsPages: 6 },
      {
        version: '1.5.01.00.0482',
        maxVcpusPerTd: null,
        features: ['TOPOLOGY_ENUM'],
        platforms: ['SPR-2S'],
        migration: MIGRATION_V1_2,
        tdcsPages: 6,
        tdvpsPages: 6,
      },
      {
        version: '1.5.06.00.0744',
        maxVcpusPerTd: 576,
        features: ['NO_RBP_MOD', 'TOPOLOGY_ENUM'],
        platforms: ['EMR-2S', 'SPR-2S'],
        migration: MIGRATION_V1_2,
        tdcsPages: 6,
        tdvpsPages: 6,
      },
      // A 1.5 module whose list outgrew its 576: GNR-SP-4S presents 688 CPUs.
      {
        version: '1.5.10.00.0820',
        maxVcpusPerTd: 576,
        features: ['NO_RBP_MOD', 'TOPOLOGY_ENUM'],
        platforms: ['EMR-2S', 'GNR-SP-4S', 'SPR-2S', 'SRF-AP-2S'],
        migration: MIGRATION_V1_2,
        tdcsPages: 6,
        tdvpsPages: 6,
      },
      {
        version: '2.0.02.00.0420',
        maxVcpusPerTd: 2048,
        features: ['NO_RBP_MOD', 'TOPOLOGY_ENUM'],
        platforms: ['EMR-2S', 'GNR-AP-2S', 'GNR-SP-4S', 'SRF-AP-2S', 'SRF-SP-2S'],
        migration: { minExportVersion: 2, maxExportVersion: 3, minImportVersion: 1, maxImportVersion: 3 },
        // TDX 2.0 keeps more per-vCPU state.
        tdcsPages: 8,
        tdvpsPages: 8,
      },
    ],
    kernels: [
      { name: 'linux-6.16', kvmMaxVcpus: 4096, tdxVcpuPolicy: 'PRESENT_CPUS', ...MAINLINE },
      { name: 'distro-6.12-tdx', kvmMaxVcpus: 1024, tdxVcpuPolicy: 'PRESENT_CPUS', ...V19_SERIES },
      { name: 'tdx-v19-6.8', kvmMaxVcpus: 1024, tdxVcpuPolicy: 'MODULE_LIMIT', ...V19_SERIES },
    ],
    hosts: [
      host('spr-a01', 'SPR-2S', '1.5.06.00.0744', 'linux-6.16', 224, 64, 512 * GiB),
      host('spr-a02', 'SPR-2S', '1.5.01.00.0482', 'distro-6.12-tdx', 224, 32, 512 * GiB), // no MAX_VCPUS_PER_TD: 65535 (LENIENT)
      host('spr-a03', 'SPR-2S', '1.5.00.00.0481', 'linux-6.16', 224, 32, 512 * GiB), // NO_RBP_MOD, NO_MAX_VCPUS_METADATA, NO_TOPOLOGY_ENUM: KVM fails to load
      host('spr-a04', 'SPR-2S', '1.5.01.00.0482', 'linux-6.16', 224, 32, 512 * GiB), // the same module on mainline: KVM fails to load
      host('emr-a01', 'EMR-2S', '1.5.06.00.0744', 'linux-6.16', 256, 64, 1024 * GiB),
      host('emr-a02', 'EMR-2S', '1.5.06.00.0744', 'linux-6.16', 192, 64, 256 * GiB, { allocationRatio: 1.5 }), // partly populated, overcommitted, short of memory
      host('emr-a03', 'EMR-2S', '2.0.02.00.0420', 'tdx-v19-6.8', 256, 64, 1024 * GiB), // MODULE_LIMIT: cap 1024
      host('emr-a04', 'EMR-2S', null, 'linux-6.16', 256, 64, 1024 * GiB), // NO_MODULE
      host('emr-a05', 'EMR-2S', '1.5.06.00.0744', 'linux-6.16', 256, 64, 1024 * GiB, { kvmIntelTdx: false }), // TDX_NOT_REQUESTED
      host('gnr-a01', 'GNR-AP-2S', '2.0.02.00.0420', 'linux-6.16', 512, 128, 1536 * GiB),
      host('gnr-a02', 'GNR-AP-2S', '1.5.06.00.0744', 'linux-6.16', 512, 64, 1536 * GiB), // PLATFORM_UNSUPPORTED
      host('gnr-b01', 'GNR-SP-4S', '1.5.10.00.0820', 'linux-6.16', 688, 64, 2048 * GiB), // 576 < 688 on mainline: KVM fails to load
      host('gnr-b02', 'GNR-SP-4S', '2.0.02.00.0420', 'linux-6.16', 688, 128, 2048 * GiB),
      host('gnr-b03', 'GNR-SP-4S', '1.5.10.00.0820', 'distro-6.12-tdx', 688, 64, 2048 * GiB), // 576 < 688, v19 series: TDX disabled, KVM loads
      host('srf-a01', 'SRF-SP-2S', '2.0.02.00.0420', 'distro-6.12-tdx', 288, 0, null), // NO_GUEST_KEYIDS; memory unknown
      host('srf-a02', 'SRF-SP-2S', '2.0.02.00.0420', 'linux-6.16', 288, 64, 512 * GiB, { kvmIntelTdx: false }), // TDX_NOT_REQUESTED
      host('srf-b01', 'SRF-AP-2S', '1.5.10.00.0820', 'distro-6.12-tdx', 576, 64, null), // 576 = 576: enabled; memory unknown
    ],
    tds: [
      td('td-web-01', 4, 8 * GiB, 'spr-a01'),
      td('td-web-02', 4, 8 * GiB, 'spr-a01'),
      td('td-db-01', 64, 256 * GiB, 'spr-a01'),
      td('td-batch-01', 128, 256 * GiB, 'spr-a02'),
      td('td-web-03', 8, 16 * GiB, 'emr-a01'),
      td('td-cache-01', 32, 192 * GiB, 'emr-a01'),
      td('td-ml-01', 192, 512 * GiB, 'emr-a01', false),
      td('td-ci-01', 16, 96 * GiB, 'emr-a02'),
      td('td-ci-02', 16, 96 * GiB, 'emr-a02'),
      td('td-ci-03', 2, 32 * GiB, 'emr-a02'),
      td('td-db-02', 256, 768 * GiB, 'emr-a03'),
      td('td-hpc-01', 512, 1024 * GiB, 'gnr-a01', false),
      td('td-analytics-01', 384, 1024 * GiB, 'gnr-b02'),
      td('td-analytics-02', 256, 512 * GiB, 'gnr-b02'),
      td('td-edge-01', 2, 4 * GiB, 'srf-b01'),
      td('td-edge-02', 2, null, 'srf-b01'), // memory not recorded
      td('td-big-01', 576, 384 * GiB, 'srf-b01'),
      td('td-planned-01', 64, 128 * GiB, null),
      td('td-planned-02', 600, 1024 * GiB, null),
      td('td-planned-03', 1024, 2048 * GiB, null, false),
    ],
  };
}
