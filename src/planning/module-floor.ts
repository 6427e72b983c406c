// N1 module floor at fleet scale: SQL narrows each component to the members at its maximum (a
// module may run on tens of thousands of hosts), then the pure moduleFloor() of
// src/capacity/rules.ts combines them, so the rule stays in one place.
import { moduleFloor, type ModuleFloor } from '../capacity/rules.js';
import type { Database } from '../db/client.js';
import { maxLogicalCpusSql } from './rules-sql.js';

/** How many binding members are named per component; the count says how many there are. */
export const BOUND_BY_LIMIT = 100;

export interface ModuleFloorAnswer extends ModuleFloor {
  /** How many hosts, TDs and platforms reach each component's value (boundBy names at most BOUND_BY_LIMIT). */
  boundByCount: { hostPresentCpus: number; tdVcpus: number; platformMaxLogicalCpus: number };
}

// The TD part joins td to the module's hosts twice (the maximum, then the TDs at it) rather than
// materialising the module's TDs: the planner then hashes the hosts, not a million TDs (bench/README.md).
const MODULE_TDS = (t: string, h: string, mp: string): string => `td ${t} JOIN host ${h} ON ${h}.id = ${t}.host_id
  JOIN module_platform ${mp} ON ${mp}.module_id = ${h}.module_id AND ${mp}.platform_id = ${h}.platform_id WHERE ${h}.module_id = $1`;

const FLOOR_SQL = `
WITH hs AS MATERIALIZED (
  SELECT h.id, h.hostname, h.present_cpus FROM host h
  JOIN module_platform mp ON mp.module_id = h.module_id AND mp.platform_id = h.platform_id
  WHERE h.module_id = $1
),
ps AS MATERIALIZED (
  SELECT p.name, ${maxLogicalCpusSql('p')} AS logical
  FROM module_platform mp JOIN platform p ON p.id = mp.platform_id WHERE mp.module_id = $1
)
SELECT * FROM (SELECT 'HOST' AS kind, hostname AS name, present_cpus AS value, count(*) OVER ()::int AS at_max
               FROM hs WHERE present_cpus = (SELECT max(present_cpus) FROM hs) ORDER BY hostname COLLATE "C" LIMIT $2) a
UNION ALL
SELECT * FROM (SELECT 'TD', t.name, t.vcpus, count(*) OVER ()::int FROM ${MODULE_TDS('t', 'h', 'mp')}
                 AND t.vcpus = (SELECT max(t2.vcpus) FROM ${MODULE_TDS('t2', 'h2', 'mp2')})
               ORDER BY t.name COLLATE "C" LIMIT $2) b
UNION ALL
SELECT * FROM (SELECT 'PLATFORM', name, logical, count(*) OVER ()::int FROM ps WHERE logical = (SELECT max(logical) FROM ps) ORDER BY name COLLATE "C" LIMIT $2) c
`;

export async function moduleFloorOf(db: Database, moduleId: number): Promise<ModuleFloorAnswer> {
  const { rows } = await db.pool.query<{ kind: 'HOST' | 'TD' | 'PLATFORM'; name: string; value: number; at_max: number }>(FLOOR_SQL, [
    moduleId,
    BOUND_BY_LIMIT,
  ]);
  const of = (kind: string) => rows.filter((r) => r.kind === kind);
  const floor = moduleFloor({
    hosts: of('HOST').map((r) => ({ hostname: r.name, presentCpus: r.value })),
    tds: of('TD').map((r) => ({ name: r.name, vcpus: r.value })),
    platforms: of('PLATFORM').map((r) => ({ name: r.name, maxLogicalCpus: r.value })),
  });
  return {
    ...floor,
    boundByCount: {
      hostPresentCpus: of('HOST')[0]?.at_max ?? 0,
      tdVcpus: of('TD')[0]?.at_max ?? 0,
      platformMaxLogicalCpus: of('PLATFORM')[0]?.at_max ?? 0,
    },
  };
}
