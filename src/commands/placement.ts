// Placement and migration of a TD (R5, R6) as commands: checked by the pure rules under row locks,
// written with the TD's audit record, or refused with every blocker and nothing written.
import type { Principal } from '../auth/principal.js';
import { tdFitBlockers } from '../capacity/rules.js';
import type { Database, Prisma } from '../db/client.js';
import { NotFoundError, PlacementRefusedError, ValidationError } from '../errors.js';
import { hostWhere, refKey, tdWhere, type HostRefShape, type TdRefShape } from '../inventory/refs.js';
import { checkHostSelect, loadCheckHost, migrationCheckOf } from '../planning/checks.js';
import { hostFacts, hostUsage } from '../planning/host-facts.js';
import { auditedUpdate, mapWriteErrors } from './write.js';

type TdRow = Prisma.TdGetPayload<object>;

/**
 * Runs a placement or migration: the TD row, then the host rows, are locked FOR UPDATE, so
 * concurrent placements onto one host are serialised and each sees the others' TDs: a host never
 * gets more TDs than guest KeyIDs, nor more vCPUs than it can schedule.
 */
async function moveTd(db: Database, actor: Principal, tdRef: TdRefShape, hostRef: HostRefShape, kind: 'place' | 'migrate'): Promise<TdRow> {
  const tdKey = refKey(tdRef);
  const hostKey = refKey(hostRef);
  const tdWhereInput = tdWhere(tdRef);
  const hostWhereInput = hostWhere(hostRef, kind === 'place' ? 'host' : 'targetHost');
  return mapWriteErrors('Td', tdKey, () =>
    db.prisma.$transaction(async (tx) => {
      const found = await tx.td.findUnique({ where: tdWhereInput, select: { id: true } });
      if (!found) throw new NotFoundError('Td', tdKey);
      const targetId = await tx.host.findUnique({ where: hostWhereInput, select: { id: true } });
      if (!targetId) throw new NotFoundError('Host', hostKey);
      const [locked] = await tx.$queryRaw<{ host_id: number | null }[]>`SELECT host_id FROM td WHERE id = ${found.id} FOR UPDATE`;
      // The usage triggers update the source host too: lock source and target in id order, so
      // two migrations crossing between the same hosts cannot deadlock.
      const hostIds = [...new Set([targetId.id, locked?.host_id ?? targetId.id])].sort((a, b) => a - b);
      await tx.$queryRaw`SELECT id FROM host WHERE id = ANY(${hostIds}::int[]) ORDER BY id FOR UPDATE`;
      const td = await tx.td.findUniqueOrThrow({
        where: { id: found.id },
        select: { id: true, name: true, vcpus: true, memoryMiB: true, migratable: true, hostId: true, host: { select: checkHostSelect } },
      });
      const target = (await loadCheckHost(tx, { id: targetId.id }))!;
      if (kind === 'place' && td.host) {
        throw new ValidationError([{ field: 'td', message: `TD "${td.name}" already runs on ${td.host.hostname}; use migrateTd` }]);
      }
      if (kind === 'migrate' && !td.host) {
        throw new ValidationError([{ field: 'td', message: `TD "${td.name}" is planned, not placed; use placeTd` }]);
      }
      const blockers = kind === 'place' ? tdFitBlockers(hostFacts(target), hostUsage(target), td) : migrationCheckOf(td, target);
      if (blockers.length > 0) throw new PlacementRefusedError(blockers);
      return auditedUpdate(
        tx,
        actor,
        'Td',
        td.id,
        () => tx.td.update({ where: { id: td.id }, data: { hostId: target.id } }),
        kind === 'place' ? 'PLACE' : 'MIGRATE',
      );
    }),
  );
}

/** Places a planned TD on a host if R5 allows it; PlacementRefusedError with every blocker otherwise. */
export function placeTd(db: Database, actor: Principal, input: { td: TdRefShape; host: HostRefShape }): Promise<TdRow> {
  return moveTd(db, actor, input.td, input.host, 'place');
}

/** Moves a placed TD to another host if R6 allows it; PlacementRefusedError with every blocker otherwise. */
export function migrateTd(db: Database, actor: Principal, input: { td: TdRefShape; targetHost: HostRefShape }): Promise<TdRow> {
  return moveTd(db, actor, input.td, input.targetHost, 'migrate');
}
