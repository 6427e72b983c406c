-- Hand-written: host_capacity computes R1 v2 once per host, not once per column that uses it.
-- PostgreSQL has no common-subexpression elimination: inlined, the view evaluated "TDX enabled" again
-- inside every column that depends on it (the cap, kvm_loads, each memory column), and compared the
-- features as text[] (revision 2 had to: NO_RBP_MOD was added to the enum in that same transaction).
-- Now the features are tested once per module, and the stage conditions, "enabled" and the reasons
-- in a LATERAL subquery per host, which PostgreSQL memoizes by its inputs. Same columns, same answers;
-- the fleet summary on 100,000 hosts took about half the CPU (bench/README.md).
CREATE OR REPLACE VIEW "host_capacity" AS
SELECT
  u."host_id", u."module_id", u."platform_id", u."kernel_id", u."present_cpus", u."guest_key_ids",
  u."td_count", u."allocated_vcpus",
  u."enabled" AS "tdx_enabled",
  u."reasons" AS "tdx_disabled_reasons",
  -- R1 v2: stage 1 fails kvm_intel's load on a FAIL_KVM_LOAD kernel when stage 0 passed.
  NOT (u."stage0_ok" AND NOT u."enabled" AND u."tdx_init_failure" = 'FAIL_KVM_LOAD') AS "kvm_loads",
  CASE WHEN u."enabled" THEN
    LEAST(u."kvm_max_vcpus",
          CASE u."policy" WHEN 'PRESENT_CPUS' THEN u."present_cpus" ELSE u."effective_max_vcpus_per_td" END)
  END AS "kvm_cap_max_vcpus",
  u."schedulable_vcpus",
  u."free_vcpus",
  u."free_key_ids",
  -- R4b: how far the placed TDs exceed the host.
  GREATEST(0, u."td_count" - u."guest_key_ids") AS "excess_key_ids",
  GREATEST(0, u."allocated_vcpus" - u."schedulable_vcpus") AS "excess_vcpus",
  -- R7, null where TDX is disabled or the memory unknown: KiB for the fit test, MiB as shown
  -- (integer division rounds down; the values divided are never negative).
  u."tdcs_pages", u."tdvps_pages",
  u."pamt_mib",
  u."td_memory_mib",
  1024::bigint * u."td_memory_mib" AS "td_memory_kib",
  u."allocated_memory_kib",
  ((u."allocated_memory_kib" + 1023) / 1024)::int AS "allocated_memory_mib",
  -- GREATEST ignores NULLs, so the unknown case is spelled out.
  CASE WHEN u."memory_known" THEN (GREATEST(0, 1024::bigint * u."td_memory_mib" - u."allocated_memory_kib") / 1024)::int END AS "free_memory_mib",
  CASE WHEN u."memory_known" THEN ((GREATEST(0, u."allocated_memory_kib" - 1024::bigint * u."td_memory_mib") + 1023) / 1024)::int END AS "excess_memory_mib"
FROM (
  SELECT s.*,
    CASE WHEN s."memory_known" THEN s."memory_mib" - s."reserved_memory_mib" - s."pamt_mib" END AS "td_memory_mib",
    -- The footprints of the TDs of known memory, regrouped (allocatedMemoryKiB in rules.ts).
    CASE WHEN s."memory_known" THEN
      1028::bigint * s."known_memory_td_mib"
        + 4::bigint * (s."known_memory_td_count"::bigint * (1 + s."tdcs_pages") + s."known_memory_td_vcpus"::bigint * s."tdvps_pages")
    END AS "allocated_memory_kib"
  FROM (
    SELECT r.*,
      (r."enabled" AND r."memory_mib" IS NOT NULL) AS "memory_known",
      CASE WHEN r."enabled" AND r."memory_mib" IS NOT NULL THEN (r."memory_mib" + 255) / 256 END AS "pamt_mib"
    FROM (
      SELECT
        h."id" AS "host_id", h."module_id", h."platform_id", h."kernel_id", h."present_cpus", h."guest_key_ids",
        h."td_count", h."allocated_vcpus", h."memory_mib", h."reserved_memory_mib",
        h."known_memory_td_count", h."known_memory_td_vcpus", h."known_memory_td_mib",
        m."tdcs_pages", m."tdvps_pages",
        k."kvm_max_vcpus",
        k."tdx_vcpu_policy" AS "policy",
        k."tdx_init_failure",
        COALESCE(m."max_vcpus_per_td", 65535) AS "effective_max_vcpus_per_td",
        -- R4b: presentCpus x allocationRatio, rounded down (the epsilon absorbs float error, as in rules.ts).
        floor(h."present_cpus" * h."allocation_ratio" + 1e-9)::int AS "schedulable_vcpus",
        -- The same expression as the best-fit index, so the planner can walk that index.
        (floor(h."present_cpus" * h."allocation_ratio" + 1e-9)::int - h."allocated_vcpus") AS "free_vcpus",
        (h."guest_key_ids" - h."td_count") AS "free_key_ids",
        st."stage0_ok", st."enabled", st."reasons"
      FROM "host" h
      JOIN "kernel" k ON k."id" = h."kernel_id"
      -- The module's features, tested once per module rather than once per host and column: OFFSET 0
      -- keeps PostgreSQL from inlining this subquery (it has no common-subexpression elimination).
      LEFT JOIN (
        SELECT mm.*, 'NO_RBP_MOD'::"TdxFeature" = ANY (mm."features") AS "no_rbp_mod",
               'TOPOLOGY_ENUM'::"TdxFeature" = ANY (mm."features") AS "topology_enum"
        FROM "tdx_module" mm OFFSET 0
      ) m ON m."id" = h."module_id"
      LEFT JOIN "module_platform" mp ON mp."module_id" = h."module_id" AND mp."platform_id" = h."platform_id"
      -- R1 v2 for the host, computed once per host (OFFSET 0 again: inlined, each column that depends on
      -- it would evaluate it anew), and in practice once per combination of the facts it reads:
      -- PostgreSQL memoizes this subquery by its parameters (a few hundred combinations for 100,000 hosts).
      CROSS JOIN LATERAL (SELECT
        -- Stage 0 passes: TDX requested, a module that supports the platform, guest KeyIDs.
        (h."kvm_intel_tdx" AND m."id" IS NOT NULL AND mp."module_id" IS NOT NULL AND h."guest_key_ids" >= 1) AS "stage0_ok",
        -- No condition of either stage fails (none of the reasons below holds).
        (h."kvm_intel_tdx" AND m."id" IS NOT NULL AND mp."module_id" IS NOT NULL AND h."guest_key_ids" >= 1
          AND (k."module_metadata" = 'LENIENT' OR (m."no_rbp_mod" AND m."max_vcpus_per_td" IS NOT NULL))
          AND m."topology_enum"
          AND NOT (k."tdx_vcpu_policy" = 'PRESENT_CPUS' AND COALESCE(m."max_vcpus_per_td", 65535) < h."present_cpus")) AS "enabled",
        -- In the kernel's order (TDX_DISABLED_REASON_CODES in src/capacity/rules.ts).
        array_remove(ARRAY[
          CASE WHEN NOT h."kvm_intel_tdx" THEN 'TDX_NOT_REQUESTED' END,
          CASE WHEN m."id" IS NULL THEN 'NO_MODULE' END,
          CASE WHEN m."id" IS NOT NULL AND mp."module_id" IS NULL THEN 'PLATFORM_UNSUPPORTED' END,
          CASE WHEN h."guest_key_ids" < 1 THEN 'NO_GUEST_KEYIDS' END,
          CASE WHEN m."id" IS NOT NULL AND k."module_metadata" = 'STRICT' AND NOT m."no_rbp_mod" THEN 'NO_RBP_MOD' END,
          CASE WHEN m."id" IS NOT NULL AND k."module_metadata" = 'STRICT' AND m."max_vcpus_per_td" IS NULL THEN 'NO_MAX_VCPUS_METADATA' END,
          CASE WHEN m."id" IS NOT NULL AND NOT m."topology_enum" THEN 'NO_TOPOLOGY_ENUM' END,
          -- The limit is known when reported, or as 65535 under LENIENT (R2): NULL under STRICT compares to nothing.
          CASE WHEN m."id" IS NOT NULL AND k."tdx_vcpu_policy" = 'PRESENT_CPUS'
                    AND (CASE WHEN k."module_metadata" = 'STRICT' THEN m."max_vcpus_per_td" ELSE COALESCE(m."max_vcpus_per_td", 65535) END) < h."present_cpus"
               THEN 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS' END
        ]::text[], NULL) AS "reasons"
        OFFSET 0) st
    ) r
  ) s
) u;
