// A small, realistic demo fleet: what `npm start` loads into a new embedded database and what
// `tdplan seed` merges. Every R1 outcome of shared/domain.md appears at least once.
import type { HostDoc, InventoryDocument, TdDoc } from './document.js';

const MIGRATION_V1_2 = { minExportVersion: 1, maxExportVersion: 2, minImportVersion: 1, maxImportVersion: 2 };

function host(
  hostname: string,
  platform: string,
  module: string | null,
  kernel: string,
  presentCpus: number,
  guestKeyIds: number,
  allocationRatio = 1.0,
): HostDoc {
  return { hostname, platform, module, kernel, presentCpus, guestKeyIds, allocationRatio };
}

function td(name: string, vcpus: number, hostname: string | null, migratable = true): TdDoc {
  return { name, vcpus, host: hostname, migratable };
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
      // Old 1.5 modules: one predates MAX_VCPUS_PER_TD (R2: 65535), one also lacks TOPOLOGY_ENUM.
      { version: '1.5.00.00.0481', maxVcpusPerTd: null, features: [], platforms: ['SPR-2S'] },
      { version: '1.5.01.00.0482', maxVcpusPerTd: null, features: ['TOPOLOGY_ENUM'], platforms: ['SPR-2S'], migration: MIGRATION_V1_2 },
      { version: '1.5.06.00.0744', maxVcpusPerTd: 576, features: ['TOPOLOGY_ENUM'], platforms: ['EMR-2S', 'SPR-2S'], migration: MIGRATION_V1_2 },
      // A 1.5 module whose list outgrew its 576: GNR-SP-4S presents 688 CPUs.
      {
        version: '1.5.10.00.0820',
        maxVcpusPerTd: 576,
        features: ['TOPOLOGY_ENUM'],
        platforms: ['EMR-2S', 'GNR-SP-4S', 'SPR-2S', 'SRF-AP-2S'],
        migration: MIGRATION_V1_2,
      },
      {
        version: '2.0.02.00.0420',
        maxVcpusPerTd: 2048,
        features: ['TOPOLOGY_ENUM'],
        platforms: ['EMR-2S', 'GNR-AP-2S', 'GNR-SP-4S', 'SRF-AP-2S', 'SRF-SP-2S'],
        migration: { minExportVersion: 2, maxExportVersion: 3, minImportVersion: 1, maxImportVersion: 3 },
      },
    ],
    kernels: [
      { name: 'linux-6.16', kvmMaxVcpus: 4096, tdxVcpuPolicy: 'PRESENT_CPUS' },
      { name: 'distro-6.12-tdx', kvmMaxVcpus: 1024, tdxVcpuPolicy: 'PRESENT_CPUS' },
      { name: 'tdx-v19-6.8', kvmMaxVcpus: 1024, tdxVcpuPolicy: 'MODULE_LIMIT' },
    ],
    hosts: [
      host('spr-a01', 'SPR-2S', '1.5.06.00.0744', 'linux-6.16', 224, 64),
      host('spr-a02', 'SPR-2S', '1.5.01.00.0482', 'distro-6.12-tdx', 224, 32),
      host('spr-a03', 'SPR-2S', '1.5.00.00.0481', 'linux-6.16', 224, 32), // NO_TOPOLOGY_ENUM
      host('emr-a01', 'EMR-2S', '1.5.06.00.0744', 'linux-6.16', 256, 64),
      host('emr-a02', 'EMR-2S', '1.5.06.00.0744', 'linux-6.16', 192, 64, 1.5), // partly populated, overcommitted
      host('emr-a03', 'EMR-2S', '2.0.02.00.0420', 'tdx-v19-6.8', 256, 64), // MODULE_LIMIT: cap 1024
      host('emr-a04', 'EMR-2S', null, 'linux-6.16', 256, 64), // NO_MODULE
      host('gnr-a01', 'GNR-AP-2S', '2.0.02.00.0420', 'linux-6.16', 512, 128),
      host('gnr-a02', 'GNR-AP-2S', '1.5.06.00.0744', 'linux-6.16', 512, 64), // PLATFORM_UNSUPPORTED
      host('gnr-b01', 'GNR-SP-4S', '1.5.10.00.0820', 'linux-6.16', 688, 64), // 576 < 688: TDX disabled
      host('gnr-b02', 'GNR-SP-4S', '2.0.02.00.0420', 'linux-6.16', 688, 128),
      host('srf-a01', 'SRF-SP-2S', '2.0.02.00.0420', 'distro-6.12-tdx', 288, 0), // NO_GUEST_KEYIDS
      host('srf-b01', 'SRF-AP-2S', '1.5.10.00.0820', 'distro-6.12-tdx', 576, 64), // 576 = 576: enabled
    ],
    tds: [
      td('td-web-01', 4, 'spr-a01'),
      td('td-web-02', 4, 'spr-a01'),
      td('td-db-01', 64, 'spr-a01'),
      td('td-batch-01', 128, 'spr-a02'),
      td('td-web-03', 8, 'emr-a01'),
      td('td-cache-01', 32, 'emr-a01'),
      td('td-ml-01', 192, 'emr-a01', false),
      td('td-ci-01', 16, 'emr-a02'),
      td('td-ci-02', 16, 'emr-a02'),
      td('td-ci-03', 2, 'emr-a02'),
      td('td-db-02', 256, 'emr-a03'),
      td('td-hpc-01', 512, 'gnr-a01', false),
      td('td-analytics-01', 384, 'gnr-b02'),
      td('td-analytics-02', 256, 'gnr-b02'),
      td('td-edge-01', 2, 'srf-b01'),
      td('td-edge-02', 2, 'srf-b01'),
      td('td-big-01', 576, 'srf-b01'),
      td('td-planned-01', 64, null),
      td('td-planned-02', 600, null),
      td('td-planned-03', 1024, null, false),
    ],
  };
}
