// Where a TD may go, in SQL: the R5 (fit) and R6 (migration) conditions of src/capacity/rules.ts
// over the capacity views, ordered best first and paginated with a keyset cursor, so a fleet of
// 100,000 hosts is never loaded into memory. test/capacity/placement-agreement.test.ts checks
// that these sets equal the hosts the pure rules accept.
//
// Ordering policy: best fit. Hosts that would be left with the fewest free vCPUs come first, so
// small TDs fill partly used hosts and large holes stay free for large TDs; ties go to the host
// with more free guest KeyIDs (headroom for more TDs), then to the lower host id.
import type { Database } from '../db/client.js';

export interface CandidateQuery {
  vcpus: number;
  /** Only hosts with these (resolved) attributes. */
  moduleId?: number | undefined;
  platformId?: number | undefined;
  kernelId?: number | undefined;
  /** R6: leave out the TD's own host, and require migration versions compatible with its module's export range. */
  migration?: { sourceHostId: number | null; minExportVersion: number; maxExportVersion: number } | undefined;
  first: number;
  after?: string | null | undefined;
}

export interface Candidate {
  hostId: number;
  /** Free vCPUs the host keeps after taking the TD. */
  remainingVcpus: number;
  freeKeyIds: number;
  cursor: string;
}

export interface CandidatePage {
  candidates: Candidate[];
  hasNextPage: boolean;
}

interface CursorKey {
  remaining: number;
  freeKeyIds: number;
  id: number;
}

export function encodeCandidateCursor(k: CursorKey): string {
  return Buffer.from(`fit:${k.remaining}:${k.freeKeyIds}:${k.id}`).toString('base64url');
}

export function decodeCandidateCursor(cursor: string): CursorKey | null {
  const m = /^fit:(-?\d+):(-?\d+):(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m ? { remaining: Number(m[1]), freeKeyIds: Number(m[2]), id: Number(m[3]) } : null;
}

/** The fit conditions and filters as SQL over host h, host_tdx_status s and host_usage u. */
function whereClause(q: CandidateQuery, params: unknown[]): string {
  const p = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const vcpus = p(q.vcpus);
  const conditions = [
    // R5 (rules.ts tdFitBlockers): TDX enabled, within the cap, a free KeyID, vCPUs within presentCpus x ratio.
    's.tdx_enabled',
    `${vcpus} <= s.kvm_cap_max_vcpus`,
    'u.td_count < h.guest_key_ids',
    `u.allocated_vcpus + ${vcpus} <= floor(h.present_cpus * h.allocation_ratio + 1e-9)`,
  ];
  if (q.moduleId !== undefined) conditions.push(`h.module_id = ${p(q.moduleId)}`);
  if (q.platformId !== undefined) conditions.push(`h.platform_id = ${p(q.platformId)}`);
  if (q.kernelId !== undefined) conditions.push(`h.kernel_id = ${p(q.kernelId)}`);
  if (q.migration) {
    // R6: another host, whose module imports a version the source module exports.
    if (q.migration.sourceHostId !== null) conditions.push(`h.id <> ${p(q.migration.sourceHostId)}`);
    conditions.push(
      `m.min_import_version <= ${p(q.migration.maxExportVersion)}`,
      `${p(q.migration.minExportVersion)} <= m.max_import_version`,
    );
  }
  return conditions.join(' AND ');
}

const FROM = `FROM host h
  JOIN host_tdx_status s ON s.host_id = h.id
  JOIN host_usage u ON u.host_id = h.id
  LEFT JOIN tdx_module m ON m.id = h.module_id`;

const REMAINING = (vcpusParam: string): string => `(floor(h.present_cpus * h.allocation_ratio + 1e-9)::int - u.allocated_vcpus - ${vcpusParam})`;

/** One page of hosts that accept the TD, best first. */
export async function placementCandidates(db: Database, q: CandidateQuery): Promise<CandidatePage> {
  const params: unknown[] = [];
  const where = whereClause(q, params);
  const remaining = REMAINING('$1');
  let keyset = '';
  const after = q.after ? decodeCandidateCursor(q.after) : null;
  if (after) {
    params.push(after.remaining, after.freeKeyIds, after.id);
    const [r, k, i] = [params.length - 2, params.length - 1, params.length];
    // (remaining ASC, free key IDs DESC, id ASC) strictly after the cursor.
    keyset = ` AND (${remaining} > $${r} OR (${remaining} = $${r} AND ((h.guest_key_ids - u.td_count) < $${k}
      OR ((h.guest_key_ids - u.td_count) = $${k} AND h.id > $${i}))))`;
  }
  params.push(q.first + 1);
  const { rows } = await db.pool.query<{ id: number; remaining: number; free_key_ids: number }>(
    `SELECT h.id, ${remaining} AS remaining, (h.guest_key_ids - u.td_count) AS free_key_ids
     ${FROM} WHERE ${where}${keyset}
     ORDER BY remaining ASC, free_key_ids DESC, h.id ASC
     LIMIT $${params.length}`,
    params,
  );
  const page = rows.slice(0, q.first);
  return {
    candidates: page.map((r) => ({
      hostId: r.id,
      remainingVcpus: r.remaining,
      freeKeyIds: r.free_key_ids,
      cursor: encodeCandidateCursor({ remaining: r.remaining, freeKeyIds: r.free_key_ids, id: r.id }),
    })),
    hasNextPage: rows.length > q.first,
  };
}

/** How many hosts accept the TD (the connection's totalCount). */
export async function countPlacementCandidates(db: Database, q: Omit<CandidateQuery, 'first' | 'after'>): Promise<number> {
  const params: unknown[] = [];
  const where = whereClause({ ...q, first: 0 }, params);
  const { rows } = await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n ${FROM} WHERE ${where}`, params);
  return rows[0]?.n ?? 0;
}
