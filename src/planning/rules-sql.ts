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

/** For a TD of `vcpus` (a placeholder), when each condition fails on a host where TDX is enabled. */
const FAILS_WHEN: Record<EnabledHostFitBlockerCode, (vcpus: string) => string> = {
  VCPUS_EXCEED_KVM_CAP: (vcpus) => `${vcpus} > c.kvm_cap_max_vcpus`,
  NO_FREE_KEYID: () => 'c.free_key_ids <= 0',
  INSUFFICIENT_VCPUS: (vcpus) => `c.free_vcpus < ${vcpus}`,
};

/**
 * The host accepts the TD: TDX enabled and no condition failing. PostgreSQL turns each NOT (a < b)
 * into a >= b, so the free-vCPU bound still walks host_best_fit_idx.
 */
export function acceptsSql(vcpus: string): string {
  return ['c.tdx_enabled', ...ENABLED_HOST_FIT_BLOCKER_CODES.map((code) => `NOT (${FAILS_WHEN[code](vcpus)})`)].join(' AND ');
}

/** Every failing condition's code, in R5's order, as a text[] (TDX_DISABLED alone where TDX is off). */
export function blockersSql(vcpus: string, param: Param): string {
  const conditions = ENABLED_HOST_FIT_BLOCKER_CODES.map((code) => `CASE WHEN ${FAILS_WHEN[code](vcpus)} THEN ${param(code)}::text END`);
  return `array_remove(CASE WHEN NOT c.tdx_enabled THEN ARRAY[${param(TDX_DISABLED_FIT_BLOCKER)}::text] ELSE ARRAY[${conditions.join(', ')}] END, NULL)`;
}

/** largestAcceptedTdVcpus(): the largest TD the host accepts now, 0 when none. */
export const LARGEST_ACCEPTED_TD_VCPUS_SQL = `CASE WHEN c.tdx_enabled AND c.free_key_ids > 0 THEN GREATEST(0, LEAST(c.kvm_cap_max_vcpus, c.free_vcpus)) ELSE 0 END`;

/** maxLogicalCpus() of the platform row `alias`: sockets x cores per socket x threads per core. */
export function maxLogicalCpusSql(alias: string): string {
  return `${alias}.sockets * ${alias}.cores_per_socket * ${alias}.threads_per_core`;
}
