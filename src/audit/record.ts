// The audit trail: every inventory change, with who, when, what, before and after, written by the
// transaction that makes the change (so there is no change without its record, nor the reverse).
import type pg from 'pg';
import { Prisma, type AuditAction } from '../generated/prisma/client.js';
import type { Principal } from '../auth/principal.js';

export type { AuditAction };

export interface AuditEntry {
  action: AuditAction;
  entityType: 'TdxModule' | 'Platform' | 'Kernel' | 'Host' | 'Td' | 'Inventory' | 'ApiToken' | 'Scenario';
  entityKey: string;
  before: Prisma.InputJsonObject | null;
  after: Prisma.InputJsonObject | null;
  /** The scenario the event belongs to (its own events, and the changes its application made). */
  scenarioId?: number;
}

/**
 * Where an audit record is written: a Prisma transaction, or the pg client of a bulk write (the
 * inventory import) inside its own transaction. Either way the record commits with the change.
 */
export type AuditWriter = Pick<Prisma.TransactionClient, 'auditEvent'> | pg.ClientBase;

/** Records one change in the audit trail: the one way every write, bulk or not, is recorded. */
export async function recordAudit(tx: AuditWriter, actor: Principal, entry: AuditEntry): Promise<void> {
  if ('auditEvent' in tx) {
    await tx.auditEvent.create({
      data: {
        actor: actor.name,
        action: entry.action,
        entityType: entry.entityType,
        entityKey: entry.entityKey,
        // Prisma's way to write SQL NULL into a Json? column.
        before: entry.before ?? Prisma.DbNull,
        after: entry.after ?? Prisma.DbNull,
        scenarioId: entry.scenarioId ?? null,
      },
    });
    return;
  }
  await tx.query('INSERT INTO audit_event (actor, action, entity_type, entity_key, before, after, scenario_id) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
    actor.name,
    entry.action,
    entry.entityType,
    entry.entityKey,
    entry.before === null ? null : JSON.stringify(entry.before),
    entry.after === null ? null : JSON.stringify(entry.after),
    entry.scenarioId ?? null,
  ]);
}

type EntityType = Exclude<AuditEntry['entityType'], 'Inventory' | 'ApiToken' | 'Scenario'>;

/**
 * The entity as the audit trail shows it: its own facts, references by natural key (never internal
 * ids, which mean nothing to a reader), and its generation. Null when it does not exist.
 */
export async function auditSnapshot(tx: Prisma.TransactionClient, entity: EntityType, id: number): Promise<Prisma.InputJsonObject | null> {
  switch (entity) {
    case 'Platform': {
      const r = await tx.platform.findUnique({
        where: { id },
        select: { name: true, sockets: true, coresPerSocket: true, threadsPerCore: true, generation: true },
      });
      return r;
    }
    case 'TdxModule': {
      const r = await tx.tdxModule.findUnique({
        where: { id },
        select: {
          version: true,
          maxVcpusPerTd: true,
          features: true,
          minExportVersion: true,
          maxExportVersion: true,
          minImportVersion: true,
          maxImportVersion: true,
          generation: true,
          platforms: { select: { platform: { select: { name: true } } }, orderBy: { platform: { name: 'asc' } } },
        },
      });
      return r && { ...r, platforms: r.platforms.map((p) => p.platform.name) };
    }
    case 'Kernel':
      return tx.kernel.findUnique({ where: { id }, select: { name: true, kvmMaxVcpus: true, tdxVcpuPolicy: true, generation: true } });
    case 'Host': {
      const r = await tx.host.findUnique({
        where: { id },
        select: {
          hostname: true,
          presentCpus: true,
          guestKeyIds: true,
          allocationRatio: true,
          generation: true,
          platform: { select: { name: true } },
          module: { select: { version: true } },
          kernel: { select: { name: true } },
        },
      });
      return r && { ...r, platform: r.platform.name, module: r.module?.version ?? null, kernel: r.kernel.name };
    }
    case 'Td': {
      const r = await tx.td.findUnique({
        where: { id },
        select: { name: true, vcpus: true, migratable: true, generation: true, host: { select: { hostname: true } } },
      });
      return r && { ...r, host: r.host?.hostname ?? null };
    }
  }
}
