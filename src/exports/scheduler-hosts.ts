// What the schedulers' exports say about each host, from the same rules as every other answer
// (src/capacity/rules.ts over the fleet facts of src/planning/fleet-facts.ts): nothing here
// decides anything about TDX itself.
import { hostCapacity, type HostCapacity } from '../capacity/rules.js';
import type { Database } from '../db/client.js';
import { factsOfHost, loadFleetFacts } from '../planning/fleet-facts.js';

export interface SchedulerHost {
  hostname: string;
  platform: string;
  /** The loaded TDX module's version; null when none. */
  module: string | null;
  kernel: string;
  guestKeyIds: number;
  /** KVM_MAX_VCPUS of the host's kernel: what a non-TD VM may have (R4). */
  kvmMaxVcpus: number;
  /** R1 v2: whether kvm_intel loads on the host (no VM of any kind runs where it does not). */
  kvmLoads: boolean;
  capacity: HostCapacity;
}

/** Every host (or the one named), by hostname; a name that is not a host is an error naming it. */
export async function loadSchedulerHosts(db: Database, hostname?: string): Promise<SchedulerHost[]> {
  const fleet = await loadFleetFacts(db);
  const platforms = new Map((await db.pool.query<{ id: number; name: string }>('SELECT id, name FROM platform')).rows.map((p) => [p.id, p.name] as const));
  const hosts = hostname === undefined ? fleet.hosts : fleet.hosts.filter((h) => h.hostname === hostname);
  if (hostname !== undefined && hosts.length === 0) throw new UnknownHostError(hostname);
  return hosts
    .map((h): SchedulerHost => {
      const kernel = fleet.kernels.get(h.kernelId)!;
      const capacity = hostCapacity(factsOfHost(fleet, h), h.usage);
      return {
        hostname: h.hostname,
        platform: platforms.get(h.platformId)!,
        module: h.moduleId === null ? null : fleet.modules.get(h.moduleId)!.version,
        kernel: kernel.name,
        guestKeyIds: h.guestKeyIds,
        kvmMaxVcpus: kernel.kvmMaxVcpus,
        kvmLoads: capacity.kvmLoads,
        capacity,
      };
    })
    .sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
}

export class UnknownHostError extends Error {
  override readonly name = 'UnknownHostError';
  constructor(readonly hostname: string) {
    super(`no host named ${JSON.stringify(hostname)}`);
  }
}
