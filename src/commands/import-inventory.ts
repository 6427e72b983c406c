// The import command: an inventory document, in one transaction; any problem and nothing is
// written (a ValidationError lists every problem by JSON path), a lost database is the same
// DatabaseUnavailableError as everywhere else, and the audit record is written by recordAudit.
// This is a bulk path (a region is 100,000 hosts and 1,000,000 TDs), so it writes with
// set-based SQL on one pg connection (INSERT ... SELECT FROM unnest(arrays) in large chunks,
// natural keys resolved to ids by joins) rather than one Prisma call per row.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { recordAudit } from '../audit/record.js';
import type { Principal } from '../auth/principal.js';
import type { Database } from '../db/client.js';
import { ValidationError, type FieldProblem } from '../errors.js';
import {
  mergeProblems,
  NO_KNOWN_ENTITIES,
  normalizeInventoryDocument,
  parseInventoryDocument,
  semanticProblems,
  type InventoryDocument,
  type KnownEntities,
} from '../inventory/document.js';
import { databaseUnavailableReason } from '../ops/database-errors.js';
import { maxLogicalCpusSql } from '../planning/rules-sql.js';

export type ImportMode = 'MERGE' | 'REPLACE';

// Type aliases, not interfaces: the counts go into the audit record's JSON as they are.
export type EntityCounts = {
  created: number;
  updated: number;
  deleted: number;
};

export type ImportCounts = {
  platforms: EntityCounts;
  modules: EntityCounts;
  kernels: EntityCounts;
  hosts: EntityCounts;
  tds: EntityCounts;
};

export interface ImportInput {
  /** An inventory document (schemas/inventory.schema.json), as parsed JSON. */
  document: unknown;
  mode: ImportMode;
}

const CHUNK = 20_000;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** Entities a MERGE document names without listing them: looked up in one query per kind. */
async function knownEntities(client: pg.PoolClient, doc: InventoryDocument): Promise<KnownEntities> {
  const listed = {
    platforms: new Set(doc.platforms.map((p) => p.name)),
    modules: new Set(doc.modules.map((m) => m.version)),
    kernels: new Set(doc.kernels.map((k) => k.name)),
    hosts: new Set(doc.hosts.map((h) => h.hostname)),
  };
  const unlisted = (names: Iterable<string | null>, set: Set<string>): string[] => [
    ...new Set([...names].filter((n): n is string => n !== null && !set.has(n))),
  ];
  const platformNames = unlisted([...doc.hosts.map((h) => h.platform), ...doc.modules.flatMap((m) => m.platforms)], listed.platforms);
  // One connection runs one query at a time: four short look-ups in sequence.
  const platforms = await client.query<{ name: string; sockets: number; cores_per_socket: number; threads_per_core: number }>(
    'SELECT name, sockets, cores_per_socket, threads_per_core FROM platform WHERE name = ANY($1::text[])',
    [platformNames],
  );
  const modules = await client.query<{ version: string }>('SELECT version FROM tdx_module WHERE version = ANY($1::text[])', [
    unlisted(
      doc.hosts.map((h) => h.module),
      listed.modules,
    ),
  ]);
  const kernels = await client.query<{ name: string }>('SELECT name FROM kernel WHERE name = ANY($1::text[])', [
    unlisted(
      doc.hosts.map((h) => h.kernel),
      listed.kernels,
    ),
  ]);
  const hosts = await client.query<{ hostname: string }>('SELECT hostname FROM host WHERE hostname = ANY($1::text[])', [
    unlisted(
      doc.tds.map((t) => t.host),
      listed.hosts,
    ),
  ]);
  return {
    platforms: new Map(
      platforms.rows.map((r) => [r.name, { name: r.name, sockets: r.sockets, coresPerSocket: r.cores_per_socket, threadsPerCore: r.threads_per_core }]),
    ),
    modules: new Set(modules.rows.map((r) => r.version)),
    kernels: new Set(kernels.rows.map((r) => r.name)),
    hosts: new Set(hosts.rows.map((r) => r.hostname)),
  };
}

interface UpsertCount {
  created: number;
  updated: number;
}

// Runs an upsert whose RETURNING yields `inserted` (xmax = 0 for a fresh row) per written row.
// Rows whose values did not change are skipped by the DO UPDATE ... WHERE and not counted.
// Rows are inserted in the document's normalised order (ORDER BY ordinality), so new ids follow
// natural keys whatever plan the joins get (fresh statistics after an import change it).
async function upsert(client: pg.PoolClient, sql: string, params: unknown[]): Promise<UpsertCount> {
  const { rows } = await client.query<{ created: string; updated: string }>(
    `WITH written AS (${sql} RETURNING (xmax = 0) AS inserted)
     SELECT count(*) FILTER (WHERE inserted) AS created, count(*) FILTER (WHERE NOT inserted) AS updated FROM written`,
    params,
  );
  return { created: Number(rows[0]?.created ?? 0), updated: Number(rows[0]?.updated ?? 0) };
}

function add(into: EntityCounts, c: UpsertCount): void {
  into.created += c.created;
  into.updated += c.updated;
}

async function write(client: pg.PoolClient, doc: InventoryDocument, mode: ImportMode): Promise<ImportCounts> {
  const counts: ImportCounts = {
    platforms: { created: 0, updated: 0, deleted: 0 },
    modules: { created: 0, updated: 0, deleted: 0 },
    kernels: { created: 0, updated: 0, deleted: 0 },
    hosts: { created: 0, updated: 0, deleted: 0 },
    tds: { created: 0, updated: 0, deleted: 0 },
  };
  for (const part of chunks(doc.platforms)) {
    add(
      counts.platforms,
      await upsert(
        client,
        `INSERT INTO platform (name, sockets, cores_per_socket, threads_per_core)
       SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::int[])
       ON CONFLICT (name) DO UPDATE SET generation = platform.generation + 1, sockets = EXCLUDED.sockets, cores_per_socket = EXCLUDED.cores_per_socket, threads_per_core = EXCLUDED.threads_per_core
       WHERE (platform.sockets, platform.cores_per_socket, platform.threads_per_core) IS DISTINCT FROM (EXCLUDED.sockets, EXCLUDED.cores_per_socket, EXCLUDED.threads_per_core)`,
        [part.map((p) => p.name), part.map((p) => p.sockets), part.map((p) => p.coresPerSocket), part.map((p) => p.threadsPerCore)],
      ),
    );
  }
  for (const part of chunks(doc.modules)) {
    add(
      counts.modules,
      await upsert(
        client,
        `INSERT INTO tdx_module (version, max_vcpus_per_td, features, min_export_version, max_export_version, min_import_version, max_import_version, tdcs_pages, tdvps_pages)
       SELECT u.version, u.max_vcpus, string_to_array(u.features, ',')::"TdxFeature"[], u.min_export, u.max_export, u.min_import, u.max_import, u.tdcs_pages, u.tdvps_pages
       FROM unnest($1::text[], $2::int[], $3::text[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[], $9::int[])
         AS u(version, max_vcpus, features, min_export, max_export, min_import, max_import, tdcs_pages, tdvps_pages)
       ON CONFLICT (version) DO UPDATE SET generation = tdx_module.generation + 1, max_vcpus_per_td = EXCLUDED.max_vcpus_per_td, features = EXCLUDED.features,
         min_export_version = EXCLUDED.min_export_version, max_export_version = EXCLUDED.max_export_version,
         min_import_version = EXCLUDED.min_import_version, max_import_version = EXCLUDED.max_import_version,
         tdcs_pages = EXCLUDED.tdcs_pages, tdvps_pages = EXCLUDED.tdvps_pages
       WHERE (tdx_module.max_vcpus_per_td, tdx_module.features, tdx_module.min_export_version, tdx_module.max_export_version, tdx_module.min_import_version, tdx_module.max_import_version,
              tdx_module.tdcs_pages, tdx_module.tdvps_pages)
         IS DISTINCT FROM (EXCLUDED.max_vcpus_per_td, EXCLUDED.features, EXCLUDED.min_export_version, EXCLUDED.max_export_version, EXCLUDED.min_import_version, EXCLUDED.max_import_version,
              EXCLUDED.tdcs_pages, EXCLUDED.tdvps_pages)`,
        [
          part.map((m) => m.version),
          part.map((m) => m.maxVcpusPerTd),
          part.map((m) => [...m.features].sort().join(',')),
          part.map((m) => m.migration?.minExportVersion ?? null),
          part.map((m) => m.migration?.maxExportVersion ?? null),
          part.map((m) => m.migration?.minImportVersion ?? null),
          part.map((m) => m.migration?.maxImportVersion ?? null),
          part.map((m) => m.tdcsPages),
          part.map((m) => m.tdvpsPages),
        ],
      ),
    );
  }
  // A listed module's supported platforms become exactly the document's list.
  const supportPairs = doc.modules.flatMap((m) => m.platforms.map((p) => [m.version, p] as const));
  await client.query(
    `DELETE FROM module_platform mp USING tdx_module m
     WHERE mp.module_id = m.id AND m.version = ANY($1::text[])
       AND NOT EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS u(version, platform)
                       JOIN platform p ON p.name = u.platform WHERE u.version = m.version AND p.id = mp.platform_id)`,
    [doc.modules.map((m) => m.version), supportPairs.map(([v]) => v), supportPairs.map(([, p]) => p)],
  );
  for (const part of chunks(supportPairs)) {
    await client.query(
      `INSERT INTO module_platform (module_id, platform_id)
       SELECT m.id, p.id FROM unnest($1::text[], $2::text[]) AS u(version, platform)
       JOIN tdx_module m ON m.version = u.version JOIN platform p ON p.name = u.platform
       ON CONFLICT DO NOTHING`,
      [part.map(([v]) => v), part.map(([, p]) => p)],
    );
  }
  for (const part of chunks(doc.kernels)) {
    add(
      counts.kernels,
      await upsert(
        client,
        `INSERT INTO kernel (name, kvm_max_vcpus, tdx_vcpu_policy, tdx_init_failure, module_metadata)
       SELECT u.name, u.kvm_max_vcpus, u.policy::"TdxVcpuPolicy", u.init_failure::"TdxInitFailure", u.metadata::"ModuleMetadataPolicy"
       FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[]) AS u(name, kvm_max_vcpus, policy, init_failure, metadata)
       ON CONFLICT (name) DO UPDATE SET generation = kernel.generation + 1, kvm_max_vcpus = EXCLUDED.kvm_max_vcpus, tdx_vcpu_policy = EXCLUDED.tdx_vcpu_policy,
         tdx_init_failure = EXCLUDED.tdx_init_failure, module_metadata = EXCLUDED.module_metadata
       WHERE (kernel.kvm_max_vcpus, kernel.tdx_vcpu_policy, kernel.tdx_init_failure, kernel.module_metadata)
         IS DISTINCT FROM (EXCLUDED.kvm_max_vcpus, EXCLUDED.tdx_vcpu_policy, EXCLUDED.tdx_init_failure, EXCLUDED.module_metadata)`,
        [
          part.map((k) => k.name),
          part.map((k) => k.kvmMaxVcpus),
          part.map((k) => k.tdxVcpuPolicy),
          part.map((k) => k.tdxInitFailure),
          part.map((k) => k.moduleMetadata),
        ],
      ),
    );
  }
  for (const part of chunks(doc.hosts)) {
    add(
      counts.hosts,
      await upsert(
        client,
        `INSERT INTO host (hostname, platform_id, module_id, kernel_id, present_cpus, guest_key_ids, allocation_ratio, kvm_intel_tdx, memory_mib, reserved_memory_mib)
       SELECT u.hostname, p.id, m.id, k.id, u.present_cpus, u.guest_key_ids, u.allocation_ratio, u.kvm_intel_tdx, u.memory_mib, u.reserved_memory_mib
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[], $7::float8[], $8::bool[], $9::int[], $10::int[]) WITH ORDINALITY
         AS u(hostname, platform, module, kernel, present_cpus, guest_key_ids, allocation_ratio, kvm_intel_tdx, memory_mib, reserved_memory_mib, ord)
       JOIN platform p ON p.name = u.platform
       JOIN kernel k ON k.name = u.kernel
       LEFT JOIN tdx_module m ON m.version = u.module
       ORDER BY u.ord
       ON CONFLICT (hostname) DO UPDATE SET generation = host.generation + 1, platform_id = EXCLUDED.platform_id, module_id = EXCLUDED.module_id, kernel_id = EXCLUDED.kernel_id,
         present_cpus = EXCLUDED.present_cpus, guest_key_ids = EXCLUDED.guest_key_ids, allocation_ratio = EXCLUDED.allocation_ratio,
         kvm_intel_tdx = EXCLUDED.kvm_intel_tdx, memory_mib = EXCLUDED.memory_mib, reserved_memory_mib = EXCLUDED.reserved_memory_mib
       WHERE (host.platform_id, host.module_id, host.kernel_id, host.present_cpus, host.guest_key_ids, host.allocation_ratio,
              host.kvm_intel_tdx, host.memory_mib, host.reserved_memory_mib)
         IS DISTINCT FROM (EXCLUDED.platform_id, EXCLUDED.module_id, EXCLUDED.kernel_id, EXCLUDED.present_cpus, EXCLUDED.guest_key_ids, EXCLUDED.allocation_ratio,
              EXCLUDED.kvm_intel_tdx, EXCLUDED.memory_mib, EXCLUDED.reserved_memory_mib)`,
        [
          part.map((h) => h.hostname),
          part.map((h) => h.platform),
          part.map((h) => h.module),
          part.map((h) => h.kernel),
          part.map((h) => h.presentCpus),
          part.map((h) => h.guestKeyIds),
          part.map((h) => h.allocationRatio),
          part.map((h) => h.kvmIntelTdx),
          part.map((h) => h.memoryMiB),
          part.map((h) => h.reservedMemoryMiB),
        ],
      ),
    );
  }
  // Host usage columns: for more than one batch of TDs, recomputed once below rather than by the
  // per-statement triggers, which would rewrite every host once per batch (migration
  // 20261124212000_td_usage_deferrable). A small document keeps the cheap triggers.
  const deferUsage = doc.tds.length > CHUNK;
  if (deferUsage) await client.query(`SET LOCAL tdplan.td_usage_deferred = 'on'`);
  for (const part of chunks(doc.tds)) {
    add(
      counts.tds,
      await upsert(
        client,
        `INSERT INTO td (name, vcpus, host_id, migratable, memory_mib)
       SELECT u.name, u.vcpus, h.id, u.migratable, u.memory_mib
       FROM unnest($1::text[], $2::int[], $3::text[], $4::bool[], $5::int[]) WITH ORDINALITY AS u(name, vcpus, host, migratable, memory_mib, ord)
       LEFT JOIN host h ON h.hostname = u.host
       ORDER BY u.ord
       ON CONFLICT (name) DO UPDATE SET generation = td.generation + 1, vcpus = EXCLUDED.vcpus, host_id = EXCLUDED.host_id, migratable = EXCLUDED.migratable,
         memory_mib = EXCLUDED.memory_mib
       WHERE (td.vcpus, td.host_id, td.migratable, td.memory_mib) IS DISTINCT FROM (EXCLUDED.vcpus, EXCLUDED.host_id, EXCLUDED.migratable, EXCLUDED.memory_mib)`,
        [part.map((t) => t.name), part.map((t) => t.vcpus), part.map((t) => t.host), part.map((t) => t.migratable), part.map((t) => t.memoryMiB)],
      ),
    );
  }
  if (mode === 'REPLACE') {
    // Whatever the document does not list goes, dependants first (foreign keys restrict).
    const gone = async (sql: string, keys: string[]): Promise<number> => (await client.query(sql, [keys])).rowCount ?? 0;
    counts.tds.deleted = await gone(
      'DELETE FROM td WHERE NOT (name = ANY($1::text[]))',
      doc.tds.map((t) => t.name),
    );
    counts.hosts.deleted = await gone(
      'DELETE FROM host WHERE NOT (hostname = ANY($1::text[]))',
      doc.hosts.map((h) => h.hostname),
    );
    counts.modules.deleted = await gone(
      'DELETE FROM tdx_module WHERE NOT (version = ANY($1::text[]))',
      doc.modules.map((m) => m.version),
    );
    counts.kernels.deleted = await gone(
      'DELETE FROM kernel WHERE NOT (name = ANY($1::text[]))',
      doc.kernels.map((k) => k.name),
    );
    counts.platforms.deleted = await gone(
      'DELETE FROM platform WHERE NOT (name = ANY($1::text[]))',
      doc.platforms.map((p) => p.name),
    );
  }
  if (deferUsage) {
    await client.query('SELECT host_usage_recompute()');
    await client.query(`SET LOCAL tdplan.td_usage_deferred = 'off'`);
  }
  return counts;
}

/** Facts that span tables, checked after writing (a MERGE may change a platform under hosts it does not list). */
async function crossTableProblems(client: pg.PoolClient): Promise<FieldProblem[]> {
  const { rows } = await client.query<{ hostname: string; present_cpus: number; platform: string; logical: number }>(
    `SELECT h.hostname, h.present_cpus, p.name AS platform, ${maxLogicalCpusSql('p')} AS logical
     FROM host h JOIN platform p ON p.id = h.platform_id
     WHERE h.present_cpus > ${maxLogicalCpusSql('p')}
     ORDER BY h.hostname LIMIT 100`,
  );
  return rows.map((r) => ({
    field: `(database) host "${r.hostname}"`,
    message: `${r.present_cpus} present CPUs would exceed the ${r.logical} logical CPUs of platform "${r.platform}"`,
  }));
}

function refused(problems: readonly FieldProblem[]): ValidationError {
  return new ValidationError(problems, `import refused, nothing was written: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
}

/** The tables an import writes; their planner statistics are refreshed after it. */
const INVENTORY_TABLES = ['platform', 'tdx_module', 'module_platform', 'kernel', 'host', 'td'] as const;

// An import can change a table from empty to a region's 100,000 hosts and 1,000,000 TDs at once;
// until autovacuum gets to it, the planner plans for the old size (measured: 62 req/s and 15% 5xx
// right after an import, 615 req/s and none after ANALYZE). So the import leaves fresh statistics
// behind. Outside the transaction: the data is committed, and a failure here only costs speed.
async function analyzeInventory(client: pg.PoolClient): Promise<void> {
  await client.query(`ANALYZE ${INVENTORY_TABLES.join(', ')}`).catch(() => undefined);
}

/** Imports an inventory document in one transaction; every problem is reported (ValidationError), and then nothing is written. */
export async function importInventory(db: Database, actor: Principal, input: ImportInput): Promise<ImportCounts> {
  const parsed = parseInventoryDocument(input.document);
  if (!parsed.document) throw refused(parsed.errors);
  const given = parsed.document;
  const client = await db.pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const known = input.mode === 'MERGE' ? await knownEntities(client, given) : NO_KNOWN_ENTITIES;
    // Problems are reported against the document as given (its own indexes), not the sorted copy.
    const problems = mergeProblems(parsed.errors, semanticProblems(given, known));
    if (problems.length > 0) throw refused(problems);
    const counts = await write(client, normalizeInventoryDocument(given), input.mode);
    const late = await crossTableProblems(client);
    if (late.length > 0) throw refused(late);
    // The audit trail records the import as one event: who, when, the mode, what changed by kind,
    // and the document's SHA-256 (row-by-row before/after of a million-row import would double it).
    await recordAudit(client, actor, {
      action: 'IMPORT',
      entityType: 'Inventory',
      entityKey: input.mode,
      before: null,
      after: { counts, documentSha256: createHash('sha256').update(JSON.stringify(input.document)).digest('hex') },
    });
    await client.query('COMMIT');
    await analyzeInventory(client);
    return counts;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackFailed: Error) => (broken = rollbackFailed));
    // Refusals and a lost database are what they are everywhere else; only another refusal by the
    // database (a rule the checks above missed, or a concurrent writer) becomes a problem here.
    if (err instanceof ValidationError || databaseUnavailableReason(err) !== null) throw err;
    const e = err as { message?: string; detail?: string; constraint?: string };
    throw refused([{ field: '(database)', message: [e.message, e.detail, e.constraint && `constraint ${e.constraint}`].filter(Boolean).join(': ') }]);
  } finally {
    // A connection that could not even roll back is discarded, not returned to the pool.
    client.release(broken);
  }
}
