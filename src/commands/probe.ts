// What `tdplan probe` sends: a host's report applied to the inventory (--apply), and the drift
// check (--check) that compares it with the plan and keeps it as the host's last observation.
import type { Principal } from '../auth/principal.js';
import { hostCapacity, MAINLINE_TDX_BEHAVIOUR } from '../capacity/rules.js';
import type { Database } from '../db/client.js';
import { NotFoundError, type FieldProblem } from '../errors.js';
import { driftDifferences, moduleVersionMatches, type DriftDifference } from '../planning/drift.js';
import { hostFacts, hostFactsSelect, hostUsage, hostUsageSelect } from '../planning/host-facts.js';
import type { ProbeReport } from '../probe/report.js';
import { createHostIn, createKernelIn, updateHostIn } from './inventory.js';
import { assertValid, mapWriteErrors, type Tx } from './write.js';

export interface AppliedProbe {
  hostId: number;
  hostCreated: boolean;
  /** False when the inventory already said what the probe saw: nothing was written. */
  hostChanged: boolean;
  kernelCreated: boolean;
  /** The module version the printed one resolved to (the short form names the full version). */
  module: string | null;
}

/** The module a printed version names: itself, or the one module whose full version it abbreviates. */
async function moduleNamed(tx: Tx, printed: string, problems: FieldProblem[]): Promise<string | null> {
  const exact = await tx.tdxModule.findUnique({ where: { version: printed }, select: { version: true } });
  if (exact) return exact.version;
  const candidates = (await tx.tdxModule.findMany({ where: { version: { startsWith: `${printed}.` } }, select: { version: true } })).filter((m) =>
    moduleVersionMatches(printed, m.version),
  );
  if (candidates.length === 1) return candidates[0]!.version;
  problems.push({
    field: 'host.module',
    message:
      candidates.length === 0
        ? `unknown TDX module version "${printed}": add it to the inventory first (its MAX_VCPUS_PER_TD and platforms are not in the kernel log)`
        : `TDX module version "${printed}" could be any of ${candidates.map((m) => m.version).join(', ')}`,
  });
  return null;
}

/**
 * Upserts the probed host: platform, module, kernel, present CPUs, guest KeyIDs, memory and (when
 * kvm_intel is loaded) kvm_intel.tdx; nothing else (the allocation ratio, reserved memory and TDs keep theirs). An unknown kernel is created with mainline
 * behaviour and the probe's KVM_MAX_VCPUS; an unknown module or platform is a ValidationError
 * naming it. One transaction: all of it or nothing.
 */
export function applyProbedHost(db: Database, actor: Principal, probe: ProbeReport): Promise<AppliedProbe> {
  const { host, kernel } = probe;
  return mapWriteErrors('Host', host.hostname, () =>
    db.prisma.$transaction(async (tx) => {
      const problems: FieldProblem[] = [];
      if (host.platform === null) problems.push({ field: 'host.platform', message: 'the probe could not tell the platform: pass --platform NAME' });
      else if (!(await tx.platform.findUnique({ where: { name: host.platform }, select: { id: true } })))
        problems.push({ field: 'host.platform', message: `unknown platform "${host.platform}": add it to the inventory first` });
      const module = host.module === null ? null : await moduleNamed(tx, host.module, problems);
      assertValid(problems);

      let kernelCreated = false;
      if (!(await tx.kernel.findUnique({ where: { name: kernel.name }, select: { id: true } }))) {
        // Mainline behaviour (shared/domain.md, Kernel): PRESENT_CPUS, FAIL_KVM_LOAD, STRICT.
        await createKernelIn(tx, actor, { name: kernel.name, kvmMaxVcpus: kernel.kvmMaxVcpus, ...MAINLINE_TDX_BEHAVIOUR });
        kernelCreated = true;
      }
      const facts = {
        platform: { name: host.platform! },
        module: module === null ? null : { version: module },
        kernel: { name: kernel.name },
        presentCpus: host.presentCpus,
        guestKeyIds: host.guestKeyIds,
        memoryMiB: host.memoryMiB,
        // Only a loaded kvm_intel shows its tdx parameter; otherwise the inventory keeps what it has.
        ...(probe.observed.kvmIntelLoaded ? { kvmIntelTdx: host.kvmIntelTdx } : {}),
      };
      const current = await tx.host.findUnique({
        where: { hostname: host.hostname },
        select: {
          id: true,
          presentCpus: true,
          guestKeyIds: true,
          memoryMiB: true,
          kvmIntelTdx: true,
          platform: { select: { name: true } },
          module: { select: { version: true } },
          kernel: { select: { name: true } },
        },
      });
      if (!current) {
        const created = await createHostIn(tx, actor, { hostname: host.hostname, ...facts });
        return { hostId: created.id, hostCreated: true, hostChanged: true, kernelCreated, module };
      }
      const unchanged =
        current.platform.name === host.platform &&
        (current.module?.version ?? null) === module &&
        current.kernel.name === kernel.name &&
        current.presentCpus === host.presentCpus &&
        current.guestKeyIds === host.guestKeyIds &&
        current.memoryMiB === host.memoryMiB &&
        (!probe.observed.kvmIntelLoaded || current.kvmIntelTdx === host.kvmIntelTdx);
      if (!unchanged) await updateHostIn(tx, actor, { hostname: host.hostname }, facts);
      return { hostId: current.id, hostCreated: false, hostChanged: !unchanged, kernelCreated, module };
    }),
  );
}

export interface HostObservationResult {
  hostId: number;
  observedAt: Date;
  drift: boolean;
  differences: DriftDifference[];
}

/**
 * The drift check: compares the probe's report with what the inventory records and the rules
 * predict for the host, and keeps it as the host's last observation (replacing the previous one).
 * Writes no inventory: only the observation.
 */
export function recordHostObservation(db: Database, actor: Principal, probe: ProbeReport): Promise<HostObservationResult> {
  return db.prisma.$transaction(async (tx) => {
    const row = await tx.host.findUnique({
      where: { hostname: probe.host.hostname },
      select: {
        ...hostFactsSelect,
        ...hostUsageSelect,
        platform: { select: { name: true } },
        module: { select: { ...hostFactsSelect.module.select, version: true } },
        kernel: { select: { ...hostFactsSelect.kernel.select, name: true } },
      },
    });
    if (!row) throw new NotFoundError('Host', probe.host.hostname);
    const differences = driftDifferences(
      {
        platform: row.platform.name,
        module: row.module?.version ?? null,
        kernel: row.kernel.name,
        kvmMaxVcpus: row.kernel.kvmMaxVcpus,
        presentCpus: row.presentCpus,
        guestKeyIds: row.guestKeyIds,
        kvmIntelTdx: row.kvmIntelTdx,
        memoryMiB: row.memoryMiB,
        capacity: hostCapacity(hostFacts(row), hostUsage(row)),
      },
      probe,
    );
    const data = {
      observedAt: new Date(),
      observedBy: actor.name,
      probe: JSON.parse(JSON.stringify(probe)) as object,
      drift: differences.length > 0,
      differences: JSON.parse(JSON.stringify(differences)) as object[],
    };
    await tx.hostObservation.upsert({ where: { hostId: row.id }, create: { hostId: row.id, ...data }, update: data });
    return { hostId: row.id, observedAt: data.observedAt, drift: data.drift, differences };
  });
}
