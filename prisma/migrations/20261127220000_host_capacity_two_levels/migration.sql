-- Hand-written: host_capacity in two parts, so that the fleet summary can evaluate R1 v2 and R3 once per
-- combination of the facts they read instead of once per host, with the same SQL text as the view.
--   * "host_resources": each host's R4b and R7 figures as if TDX were enabled, and the facts R1 v2 reads;
--   * "tdx_host_status"(...): R1 v2 (stage 0, enabled, the reasons, KVM loading) and R3 (the cap) of
--     those facts, a SQL function that PostgreSQL inlines wherever it is called;
--   * "host_capacity": the two together, the memory figures kept only where TDX is enabled. Same columns,
--     same answers as before (test/capacity/sql-agreement.test.ts).

-- The module's features, tested once per module: OFFSET 0 keeps PostgreSQL from inlining the tests into
-- every host row and column that reads them (it has no common-subexpression elimination).
CREATE VIEW "tdx_module_features" AS
SELECT m.*,
       'NO_RBP_MOD'::"TdxFeature" = ANY (m."features") AS "no_rbp_mod",
       'TOPOLOGY_ENUM'::"TdxFeature" = ANY (m."features") AS "topology_enum"
FROM "tdx_module" m
OFFSET 0;

-- R1 v2 and R3 of one host's facts. The inner subquery (OFFSET 0 again) computes the stage conditions,
-- "enabled" and the reasons once; the cap and KVM loading read them as columns.
CREATE FUNCTION "tdx_host_status"(
  "kvm_intel_tdx" boolean, "has_module" boolean, "module_supports_platform" boolean, "guest_key_ids" integer,
  "present_cpus" integer, "module_metadata" "ModuleMetadataPolicy", "tdx_vcpu_policy" "TdxVcpuPolicy",
  "tdx_init_failure" "TdxInitFailure", "kvm_max_vcpus" integer, "no_rbp_mod" boolean, "topology_enum" boolean,
  "max_vcpus_per_td" integer)
RETURNS TABLE ("stage0_ok" boolean, "tdx_enabled" boolean, "tdx_disabled_reasons" text[], "kvm_loads" boolean,
               "kvm_cap_max_vcpus" integer)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT s."stage0_ok", s."enabled", s."reasons",
  -- R1 v2: stage 1 fails kvm_intel's load on a FAIL_KVM_LOAD kernel when stage 0 passed.
  NOT (s."stage0_ok" AND NOT s."enabled" AND "tdx_init_failure" = 'FAIL_KVM_LOAD'),
  -- R3.
  CASE WHEN s."enabled" THEN
    LEAST("kvm_max_vcpus", CASE "tdx_vcpu_policy" WHEN 'PRESENT_CPUS' THEN "present_cpus" ELSE COALESCE("max_vcpus_per_td", 65535) END)
  END
FROM (SELECT
  -- Stage 0 passes: TDX requested, a module that supports the platform, guest KeyIDs.
  ("kvm_intel_tdx" AND "has_module" AND "module_supports_platform" AND "guest_key_ids" >= 1) AS "stage0_ok",
  -- No condition of either stage fails (none of the reasons below holds).
  ("kvm_intel_tdx" AND "has_module" AND "module_supports_platform" AND "guest_key_ids" >= 1
    AND ("module_metadata" = 'LENIENT' OR ("no_rbp_mod" AND "max_vcpus_per_td" IS NOT NULL))
    AND "topology_enum"
    AND NOT ("tdx_vcpu_policy" = 'PRESENT_CPUS' AND COALESCE("max_vcpus_per_td", 65535) < "present_cpus")) AS "enabled",
  -- In the kernel's order (TDX_DISABLED_REASON_CODES in src/capacity/rules.ts).
  array_remove(ARRAY[
    CASE WHEN NOT "kvm_intel_tdx" THEN 'TDX_NOT_REQUESTED' END,
    CASE WHEN NOT "has_module" THEN 'NO_MODULE' END,
    CASE WHEN "has_module" AND NOT "module_supports_platform" THEN 'PLATFORM_UNSUPPORTED' END,
    CASE WHEN "guest_key_ids" < 1 THEN 'NO_GUEST_KEYIDS' END,
    CASE WHEN "has_module" AND "module_metadata" = 'STRICT' AND NOT "no_rbp_mod" THEN 'NO_RBP_MOD' END,
    CASE WHEN "has_module" AND "module_metadata" = 'STRICT' AND "max_vcpus_per_td" IS NULL THEN 'NO_MAX_VCPUS_METADATA' END,
    CASE WHEN "has_module" AND NOT "topology_enum" THEN 'NO_TOPOLOGY_ENUM' END,
    -- The limit is known when reported, or as 65535 under LENIENT (R2): NULL under STRICT compares to nothing.
    CASE WHEN "has_module" AND "tdx_vcpu_policy" = 'PRESENT_CPUS'
              AND (CASE WHEN "module_metadata" = 'STRICT' THEN "max_vcpus_per_td" ELSE COALESCE("max_vcpus_per_td", 65535) END) < "present_cpus"
         THEN 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS' END
  ]::text[], NULL) AS "reasons"
  OFFSET 0) s
$$;

-- Each host's R4b and R7 figures before R1 v2 says whether they count: the memory figures are NULL only
-- where the memory is unknown (or there is no module to size the TDs' footprints).
CREATE VIEW "host_resources" AS
SELECT x.*,
  1024::bigint * x."td_memory_mib" AS "td_memory_kib",
  ((x."allocated_memory_kib" + 1023) / 1024)::int AS "allocated_memory_mib",
  -- GREATEST ignores NULLs, so the unknown case is spelled out
  -- (integer division rounds down; the values divided are never negative).
  CASE WHEN x."memory_known" THEN (GREATEST(0, 1024::bigint * x."td_memory_mib" - x."allocated_memory_kib") / 1024)::int END AS "free_memory_mib",
  CASE WHEN x."memory_known" THEN ((GREATEST(0, x."allocated_memory_kib" - 1024::bigint * x."td_memory_mib") + 1023) / 1024)::int END AS "excess_memory_mib"
FROM (
  SELECT w.*,
    CASE WHEN w."memory_known" THEN w."memory_mib" - w."reserved_memory_mib" - w."pamt_mib" END AS "td_memory_mib",
    -- The footprints of the TDs of known memory, regrouped (allocatedMemoryKiB in rules.ts).
    CASE WHEN w."memory_known" THEN
      1028::bigint * w."known_memory_td_mib"
        + 4::bigint * (w."known_memory_td_count"::bigint * (1 + w."tdcs_pages") + w."known_memory_td_vcpus"::bigint * w."tdvps_pages")
    END AS "allocated_memory_kib"
  FROM (
    SELECT
      h."id" AS "host_id", h."module_id", h."platform_id", h."kernel_id", h."present_cpus", h."guest_key_ids",
      h."td_count", h."allocated_vcpus", h."kvm_intel_tdx", h."memory_mib", h."reserved_memory_mib",
      h."known_memory_td_count", h."known_memory_td_vcpus", h."known_memory_td_mib",
      -- What R1 v2 and R3 read besides the host's own columns.
      m."id" IS NOT NULL AS "has_module", mp."module_id" IS NOT NULL AS "module_supports_platform",
      k."module_metadata", k."tdx_vcpu_policy", k."tdx_init_failure", k."kvm_max_vcpus",
      m."no_rbp_mod", m."topology_enum", m."max_vcpus_per_td", m."tdcs_pages", m."tdvps_pages",
      -- R4b: presentCpus x allocationRatio, rounded down (the epsilon absorbs float error, as in rules.ts).
      floor(h."present_cpus" * h."allocation_ratio" + 1e-9)::int AS "schedulable_vcpus",
      -- The same expression as the best-fit index, so the planner can walk that index.
      (floor(h."present_cpus" * h."allocation_ratio" + 1e-9)::int - h."allocated_vcpus") AS "free_vcpus",
      (h."guest_key_ids" - h."td_count") AS "free_key_ids",
      -- R4b: how far the placed TDs exceed the host.
      GREATEST(0, h."td_count" - h."guest_key_ids") AS "excess_key_ids",
      GREATEST(0, h."allocated_vcpus" - floor(h."present_cpus" * h."allocation_ratio" + 1e-9)::int) AS "excess_vcpus",
      (h."memory_mib" IS NOT NULL AND m."id" IS NOT NULL) AS "memory_known",
      CASE WHEN h."memory_mib" IS NOT NULL AND m."id" IS NOT NULL THEN (h."memory_mib" + 255) / 256 END AS "pamt_mib"
    FROM "host" h
    -- LEFT although every host has a kernel (kernel_id is NOT NULL): a query that reads no kernel column
    -- then skips the join (PostgreSQL removes unused LEFT JOINs on a unique key, never inner ones).
    LEFT JOIN "kernel" k ON k."id" = h."kernel_id"
    LEFT JOIN "tdx_module_features" m ON m."id" = h."module_id"
    LEFT JOIN "module_platform" mp ON mp."module_id" = h."module_id" AND mp."platform_id" = h."platform_id"
  ) w
) x;

CREATE OR REPLACE VIEW "host_capacity" AS
SELECT
  r."host_id", r."module_id", r."platform_id", r."kernel_id", r."present_cpus", r."guest_key_ids",
  r."td_count", r."allocated_vcpus",
  st."tdx_enabled", st."tdx_disabled_reasons", st."kvm_loads", st."kvm_cap_max_vcpus",
  r."schedulable_vcpus", r."free_vcpus", r."free_key_ids", r."excess_key_ids", r."excess_vcpus",
  r."tdcs_pages", r."tdvps_pages",
  -- R7, null where TDX is disabled or the memory unknown.
  CASE WHEN st."tdx_enabled" THEN r."pamt_mib" END AS "pamt_mib",
  CASE WHEN st."tdx_enabled" THEN r."td_memory_mib" END AS "td_memory_mib",
  CASE WHEN st."tdx_enabled" THEN r."td_memory_kib" END AS "td_memory_kib",
  CASE WHEN st."tdx_enabled" THEN r."allocated_memory_kib" END AS "allocated_memory_kib",
  CASE WHEN st."tdx_enabled" THEN r."allocated_memory_mib" END AS "allocated_memory_mib",
  CASE WHEN st."tdx_enabled" THEN r."free_memory_mib" END AS "free_memory_mib",
  CASE WHEN st."tdx_enabled" THEN r."excess_memory_mib" END AS "excess_memory_mib"
FROM "host_resources" r
CROSS JOIN LATERAL "tdx_host_status"(
  r."kvm_intel_tdx", r."has_module", r."module_supports_platform", r."guest_key_ids", r."present_cpus",
  r."module_metadata", r."tdx_vcpu_policy", r."tdx_init_failure", r."kvm_max_vcpus",
  r."no_rbp_mod", r."topology_enum", r."max_vcpus_per_td") st;
