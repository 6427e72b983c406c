// The R5/R6 checks of one TD against one host, on rows loaded with Prisma: the read side's
// placementCheck/migrationCheck and the placement commands evaluate exactly the same thing.
import { migrationBlockers, type MigrationBlocker } from '../capacity/rules.js';
import type { Prisma } from '../db/client.js';
import { hostFacts, hostFactsSelect, hostUsage, hostUsageSelect } from './host-facts.js';

/** Everything the checks need of a host: the rules' facts and its usage. */
export const checkHostSelect = { hostname: true, ...hostFactsSelect, ...hostUsageSelect } as const;
export type CheckHost = Prisma.HostGetPayload<{ select: typeof checkHostSelect }>;

export async function loadCheckHost(db: Prisma.TransactionClient, where: Prisma.HostWhereUniqueInput): Promise<CheckHost | null> {
  return db.host.findUnique({ where, select: checkHostSelect });
}

export interface TdForCheck {
  id: number;
  vcpus: number;
  memoryMiB: number | null;
  migratable: boolean;
  hostId: number | null;
  host: CheckHost | null;
}

/** R6 for a loaded TD and target (a planned TD has no source module: treated as none). */
export function migrationCheckOf(td: TdForCheck, target: CheckHost): MigrationBlocker[] {
  return migrationBlockers({
    td: { vcpus: td.vcpus, memoryMiB: td.memoryMiB, migratable: td.migratable, hostId: td.hostId },
    sourceHost: td.host ? hostFacts(td.host) : { ...hostFacts(target), module: null },
    targetHostId: target.id,
    targetHost: hostFacts(target),
    targetUsage: hostUsage(target),
  });
}
