-- Hand-written (no datamodel change). Placement questions read one row per host: R1 and R3 (TDX
-- status and cap) next to the usage R5 needs, from a single scan of host. Joining host to views that
-- each scan host again cost two extra index lookups per host (bench/README.md). host_tdx_status keeps
-- its columns and now reads this view. test/capacity/sql-agreement.test.ts and
-- placement-agreement.test.ts check both against src/capacity/rules.ts.
CREATE VIEW "host_capacity" AS
SELECT
  s."host_id", s."module_id", s."platform_id", s."kernel_id", s."present_cpus", s."guest_key_ids",
  s."td_count", s."allocated_vcpus",
  s."enabled" AS "tdx_enabled",
  s."reasons" AS "tdx_disabled_reasons",
  CASE WHEN s."enabled" THEN
    LEAST(s."kvm_max_vcpus",
          CASE s."policy" WHEN 'PRESENT_CPUS' THEN s."present_cpus" ELSE s."effective_max_vcpus_per_td" END)
  END AS "kvm_cap_max_vcpus",
  s."schedulable_vcpus",
  s."free_vcpus",
  s."free_key_ids"
FROM (
  SELECT
    h."id" AS "host_id", h."module_id", h."platform_id", h."kernel_id", h."present_cpus", h."guest_key_ids",
    h."td_count", h."allocated_vcpus",
    k."kvm_max_vcpus",
    k."tdx_vcpu_policy" AS "policy",
    COALESCE(m."max_vcpus_per_td", 65535) AS "effective_max_vcpus_per_td",
    -- R5: presentCpus x allocationRatio, rounded down (the epsilon absorbs float error, as in rules.ts).
    floor(h."present_cpus" * h."allocation_ratio" + 1e-9)::int AS "schedulable_vcpus",
    -- The same expression as the best-fit index below, so the planner can walk that index.
    (floor(h."present_cpus" * h."allocation_ratio" + 1e-9)::int - h."allocated_vcpus") AS "free_vcpus",
    (h."guest_key_ids" - h."td_count") AS "free_key_ids",
    -- R1 as a plain conjunction: the same conditions as the reasons below (none of them holds), in a
    -- form whose selectivity the planner can estimate (a test over random fleets checks they agree).
    (m."id" IS NOT NULL AND mp."module_id" IS NOT NULL AND 'TOPOLOGY_ENUM'::"TdxFeature" = ANY (m."features")
      AND h."guest_key_ids" >= 1
      AND NOT (k."tdx_vcpu_policy" = 'PRESENT_CPUS' AND COALESCE(m."max_vcpus_per_td", 65535) < h."present_cpus")) AS "enabled",
    array_remove(ARRAY[
      CASE WHEN m."id" IS NULL THEN 'NO_MODULE' END,
      CASE WHEN m."id" IS NOT NULL AND mp."module_id" IS NULL THEN 'PLATFORM_UNSUPPORTED' END,
      CASE WHEN m."id" IS NOT NULL AND NOT ('TOPOLOGY_ENUM'::"TdxFeature" = ANY (m."features")) THEN 'NO_TOPOLOGY_ENUM' END,
      CASE WHEN h."guest_key_ids" < 1 THEN 'NO_GUEST_KEYIDS' END,
      CASE WHEN m."id" IS NOT NULL AND k."tdx_vcpu_policy" = 'PRESENT_CPUS'
                AND COALESCE(m."max_vcpus_per_td", 65535) < h."present_cpus"
           THEN 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS' END
    ]::text[], NULL) AS "reasons"
  FROM "host" h
  JOIN "kernel" k ON k."id" = h."kernel_id"
  LEFT JOIN "tdx_module" m ON m."id" = h."module_id"
  LEFT JOIN "module_platform" mp ON mp."module_id" = h."module_id" AND mp."platform_id" = h."platform_id"
) s;

CREATE OR REPLACE VIEW "host_tdx_status" AS
SELECT "host_id", "tdx_enabled", "tdx_disabled_reasons", "kvm_cap_max_vcpus" FROM "host_capacity";

-- Best fit first (src/planning/placement.ts): fewest free vCPUs, then most free KeyIDs, then id. A
-- candidate page walks this index from the TD's size up and stops after a page of accepting hosts.
CREATE INDEX "host_best_fit_idx" ON "host" (
  (floor("present_cpus" * "allocation_ratio" + 1e-9)::int - "allocated_vcpus"),
  ("guest_key_ids" - "td_count") DESC,
  "id"
);
