// Rules of src/capacity/rules.ts that must run in SQL, spelled once here. Chiefly R5
// (tdFitBlockers and largestAcceptedTdVcpus) over a row `c` of the host_capacity view: one place
// that says, for each fit condition, when it fails. The
// candidate pages, their counts and what-fits-where are all generated from it, and the codes come
// from rules.ts as query parameters; test/capacity/placement-agreement.test.ts and
// fleet-summary-agreement.test.ts pin the results to the pure rules.
import { ENABLED_HOST_FIT_BLOCKER_CODES, TDX_DISABLED_FIT_BLOCKER, type EnabledHostFitBlockerCode } from '../capacity/rules.js';

/** Adds a query parameter and returns its placeholder ($n). */
export type Param = (value: unknown) => string;

/** A Param that appends to `params`. */
export function paramsOf(params: unknown[]): Param {
  return (value) => {
    params.push(value);
    return `$${params.length}`;
  };
}

/** A TD as SQL: placeholders (or literals) for its vCPUs and its memory in MiB (NULL: unknown). */
export interface SqlTd {
  vcpus: string;
  memoryMiB: string;
}

/** For a TD, when each condition fails on a host where TDX is enabled (never NULL). */
const FAILS_WHEN: Record<EnabledHostFitBlockerCode, (td: SqlTd) => string> = {
  VCPUS_EXCEED_KVM_CAP: ({ vcpus }) => `${vcpus} > c.kvm_cap_max_vcpus`,
  NO_FREE_KEYID: () => 'c.free_key_ids <= 0',
  INSUFFICIENT_VCPUS: ({ vcpus }) => `c.free_vcpus < ${vcpus}`,
  // R7 where both memories are known: the host's footprints plus the TD's (tdFootprintKiB on the
  // host's module) exceed its memory for TDs (td_memory_kib is NULL where the host's memory is unknown).
  INSUFFICIENT_MEMORY: ({ vcpus, memoryMiB }) =>
    `(${memoryMiB}::int IS NOT NULL AND c.td_memory_kib IS NOT NULL
      AND c.allocated_memory_kib + 1028::bigint * ${memoryMiB}::int + 4::bigint * (1 + c.tdcs_pages + ${vcpus} * c.tdvps_pages) > c.td_memory_kib)`,
};

/**
 * The host accepts the TD: TDX enabled and no condition failing. PostgreSQL turns each NOT (a < b)
 * into a >= b, so the free-vCPU bound still walks host_best_fit_idx.
 */
export function acceptsSql(td: SqlTd): string {
  return ['c.tdx_enabled', ...ENABLED_HOST_FIT_BLOCKER_CODES.map((code) => `NOT (${FAILS_WHEN[code](td)})`)].join(' AND ');
}

/** Every failing condition's code, in R5's order, as a text[] (TDX_DISABLED alone where TDX is off). */
export function blockersSql(td: SqlTd, param: Param): string {
  const conditions = ENABLED_HOST_FIT_BLOCKER_CODES.map((code) => `CASE WHEN ${FAILS_WHEN[code](td)} THEN ${param(code)}::text END`);
  return `array_remove(CASE WHEN NOT c.tdx_enabled THEN ARRAY[${param(TDX_DISABLED_FIT_BLOCKER)}::text] ELSE ARRAY[${conditions.join(', ')}] END, NULL)`;
}

/** largestAcceptedTdVcpus(): the largest TD the host accepts now, 0 when none. */
export const LARGEST_ACCEPTED_TD_VCPUS_SQL = `CASE WHEN c.tdx_enabled AND c.free_key_ids > 0 THEN GREATEST(0, LEAST(c.kvm_cap_max_vcpus, c.free_vcpus)) ELSE 0 END`;

/** maxLogicalCpus() of the platform row `alias`: sockets x cores per socket x threads per core. */
export function maxLogicalCpusSql(alias: string): string {
  return `${alias}.sockets * ${alias}.cores_per_socket * ${alias}.threads_per_core`;
}
