-- CreateEnum
CREATE TYPE "TdxInitFailure" AS ENUM ('FAIL_KVM_LOAD', 'DISABLE_TDX');

-- CreateEnum
CREATE TYPE "ModuleMetadataPolicy" AS ENUM ('STRICT', 'LENIENT');

-- AlterEnum
ALTER TYPE "TdxFeature" ADD VALUE 'NO_RBP_MOD';

-- AlterTable
ALTER TABLE "tdx_module" ADD COLUMN     "tdcs_pages" INTEGER NOT NULL DEFAULT 6,
ADD COLUMN     "tdvps_pages" INTEGER NOT NULL DEFAULT 6;

-- AlterTable
ALTER TABLE "kernel" ADD COLUMN     "module_metadata" "ModuleMetadataPolicy" NOT NULL DEFAULT 'STRICT',
ADD COLUMN     "tdx_init_failure" "TdxInitFailure" NOT NULL DEFAULT 'FAIL_KVM_LOAD';

-- AlterTable
ALTER TABLE "host" ADD COLUMN     "known_memory_td_count" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "known_memory_td_mib" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "known_memory_td_vcpus" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "kvm_intel_tdx" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "memory_mib" INTEGER,
ADD COLUMN     "reserved_memory_mib" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "td" ADD COLUMN     "memory_mib" INTEGER;

-- Hand-written: domain revision 2 (shared/domain.md, v2).

-- Kernels already here keep their answers: they were planned as the v19 series behaves (a failed
-- bring-up only disables TDX, missing metadata is tolerated). New kernels get the mainline defaults
-- above. An operator sets the real values per kernel (README, "Upgrading to domain revision 2").
UPDATE "kernel" SET "tdx_init_failure" = 'DISABLE_TDX', "module_metadata" = 'LENIENT';

ALTER TABLE "tdx_module"
  ADD CONSTRAINT "tdx_module_tdcs_pages_range" CHECK ("tdcs_pages" BETWEEN 1 AND 1024),
  ADD CONSTRAINT "tdx_module_tdvps_pages_range" CHECK ("tdvps_pages" BETWEEN 1 AND 1024);
ALTER TABLE "host"
  ADD CONSTRAINT "host_memory_mib_positive" CHECK ("memory_mib" IS NULL OR "memory_mib" > 0),
  ADD CONSTRAINT "host_reserved_memory_mib_range" CHECK ("reserved_memory_mib" >= 0 AND ("memory_mib" IS NULL OR "reserved_memory_mib" <= "memory_mib")),
  ADD CONSTRAINT "host_known_memory_td_count_non_negative" CHECK ("known_memory_td_count" >= 0),
  ADD CONSTRAINT "host_known_memory_td_vcpus_non_negative" CHECK ("known_memory_td_vcpus" >= 0),
  ADD CONSTRAINT "host_known_memory_td_mib_non_negative" CHECK ("known_memory_td_mib" >= 0);
ALTER TABLE "td" ADD CONSTRAINT "td_memory_mib_positive" CHECK ("memory_mib" IS NULL OR "memory_mib" > 0);

-- R7 needs each host's TDs of known memory: how many, their vCPUs and their memory (the footprint
-- sum regroups to 1028 x memory + 4 x (count x (1 + tdcsPages) + vCPUs x tdvpsPages), so the host's
-- module can change without rereading its TDs). Kept by the same statement-level triggers as td_count.
CREATE OR REPLACE FUNCTION "td_usage_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('tdplan.td_usage_deferred', true) = 'on' THEN
    RETURN NULL;
  END IF;
  -- One signed delta per row (new rows +, old rows -); new_rows / old_rows exist only for the events that have them.
  IF TG_OP = 'INSERT' THEN
    UPDATE "host" h SET "td_count" = h."td_count" + d.n, "allocated_vcpus" = h."allocated_vcpus" + d.v,
      "known_memory_td_count" = h."known_memory_td_count" + d.mn, "known_memory_td_vcpus" = h."known_memory_td_vcpus" + d.mv,
      "known_memory_td_mib" = h."known_memory_td_mib" + d.mm
    FROM (SELECT "host_id", count(*)::int AS n, sum("vcpus")::int AS v, count("memory_mib")::int AS mn,
                 COALESCE(sum("vcpus") FILTER (WHERE "memory_mib" IS NOT NULL), 0)::int AS mv, COALESCE(sum("memory_mib"), 0)::int AS mm
          FROM new_rows WHERE "host_id" IS NOT NULL GROUP BY "host_id") d
    WHERE h."id" = d."host_id";
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE "host" h SET "td_count" = h."td_count" - d.n, "allocated_vcpus" = h."allocated_vcpus" - d.v,
      "known_memory_td_count" = h."known_memory_td_count" - d.mn, "known_memory_td_vcpus" = h."known_memory_td_vcpus" - d.mv,
      "known_memory_td_mib" = h."known_memory_td_mib" - d.mm
    FROM (SELECT "host_id", count(*)::int AS n, sum("vcpus")::int AS v, count("memory_mib")::int AS mn,
                 COALESCE(sum("vcpus") FILTER (WHERE "memory_mib" IS NOT NULL), 0)::int AS mv, COALESCE(sum("memory_mib"), 0)::int AS mm
          FROM old_rows WHERE "host_id" IS NOT NULL GROUP BY "host_id") d
    WHERE h."id" = d."host_id";
  ELSE
    UPDATE "host" h SET "td_count" = h."td_count" + d.n, "allocated_vcpus" = h."allocated_vcpus" + d.v,
      "known_memory_td_count" = h."known_memory_td_count" + d.mn, "known_memory_td_vcpus" = h."known_memory_td_vcpus" + d.mv,
      "known_memory_td_mib" = h."known_memory_td_mib" + d.mm
    FROM (
      SELECT "host_id", sum(n)::int AS n, sum(v)::int AS v, sum(mn)::int AS mn, sum(mv)::int AS mv, sum(mm)::int AS mm FROM (
        SELECT "host_id", 1 AS n, "vcpus" AS v, CASE WHEN "memory_mib" IS NULL THEN 0 ELSE 1 END AS mn,
               CASE WHEN "memory_mib" IS NULL THEN 0 ELSE "vcpus" END AS mv, COALESCE("memory_mib", 0) AS mm
        FROM new_rows WHERE "host_id" IS NOT NULL
        UNION ALL
        SELECT "host_id", -1, -"vcpus", CASE WHEN "memory_mib" IS NULL THEN 0 ELSE -1 END,
               CASE WHEN "memory_mib" IS NULL THEN 0 ELSE -"vcpus" END, -COALESCE("memory_mib", 0)
        FROM old_rows WHERE "host_id" IS NOT NULL
      ) x GROUP BY "host_id"
    ) d
    WHERE h."id" = d."host_id" AND (d.n <> 0 OR d.v <> 0 OR d.mn <> 0 OR d.mv <> 0 OR d.mm <> 0);
  END IF;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION "host_usage_recompute"() RETURNS void LANGUAGE sql AS $$
  UPDATE "host" h SET "td_count" = u.n, "allocated_vcpus" = u.v,
    "known_memory_td_count" = u.mn, "known_memory_td_vcpus" = u.mv, "known_memory_td_mib" = u.mm
  FROM (
    SELECT h2."id", count(t."id")::int AS n, COALESCE(sum(t."vcpus"), 0)::int AS v, count(t."memory_mib")::int AS mn,
           COALESCE(sum(t."vcpus") FILTER (WHERE t."memory_mib" IS NOT NULL), 0)::int AS mv, COALESCE(sum(t."memory_mib"), 0)::int AS mm
    FROM "host" h2 LEFT JOIN "td" t ON t."host_id" = h2."id" GROUP BY h2."id"
  ) u
  WHERE h."id" = u."id"
    AND (h."td_count", h."allocated_vcpus", h."known_memory_td_count", h."known_memory_td_vcpus", h."known_memory_td_mib")
        IS DISTINCT FROM (u.n, u.v, u.mn, u.mv, u.mm);
$$;

-- R1 v2, R3, R4b and R7 per host, from one scan of host (see 20261124220000_host_capacity_view).
-- The new columns sit among the old ones, so the views are dropped and created again.
-- NO_RBP_MOD is compared as text: a value added to an enum cannot be used in the transaction that adds it.
DROP VIEW "host_tdx_status";
DROP VIEW "host_capacity";
CREATE VIEW "host_capacity" AS
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
        -- R1 v2 stage 0 passes: TDX requested, a module that supports the platform, guest KeyIDs.
        (h."kvm_intel_tdx" AND m."id" IS NOT NULL AND mp."module_id" IS NOT NULL AND h."guest_key_ids" >= 1) AS "stage0_ok",
        -- R1 v2 as a plain conjunction: no condition of either stage fails (none of the reasons below
        -- holds), in a form whose selectivity the planner can estimate.
        (h."kvm_intel_tdx" AND m."id" IS NOT NULL AND mp."module_id" IS NOT NULL AND h."guest_key_ids" >= 1
          AND (k."module_metadata" = 'LENIENT' OR ('NO_RBP_MOD' = ANY (m."features"::text[]) AND m."max_vcpus_per_td" IS NOT NULL))
          AND 'TOPOLOGY_ENUM'::"TdxFeature" = ANY (m."features")
          AND NOT (k."tdx_vcpu_policy" = 'PRESENT_CPUS' AND COALESCE(m."max_vcpus_per_td", 65535) < h."present_cpus")) AS "enabled",
        -- In the kernel's order (TDX_DISABLED_REASON_CODES in src/capacity/rules.ts).
        array_remove(ARRAY[
          CASE WHEN NOT h."kvm_intel_tdx" THEN 'TDX_NOT_REQUESTED' END,
          CASE WHEN m."id" IS NULL THEN 'NO_MODULE' END,
          CASE WHEN m."id" IS NOT NULL AND mp."module_id" IS NULL THEN 'PLATFORM_UNSUPPORTED' END,
          CASE WHEN h."guest_key_ids" < 1 THEN 'NO_GUEST_KEYIDS' END,
          CASE WHEN m."id" IS NOT NULL AND k."module_metadata" = 'STRICT' AND NOT ('NO_RBP_MOD' = ANY (m."features"::text[])) THEN 'NO_RBP_MOD' END,
          CASE WHEN m."id" IS NOT NULL AND k."module_metadata" = 'STRICT' AND m."max_vcpus_per_td" IS NULL THEN 'NO_MAX_VCPUS_METADATA' END,
          CASE WHEN m."id" IS NOT NULL AND NOT ('TOPOLOGY_ENUM'::"TdxFeature" = ANY (m."features")) THEN 'NO_TOPOLOGY_ENUM' END,
          -- The limit is known when reported, or as 65535 under LENIENT (R2): NULL under STRICT compares to nothing.
          CASE WHEN m."id" IS NOT NULL AND k."tdx_vcpu_policy" = 'PRESENT_CPUS'
                    AND (CASE WHEN k."module_metadata" = 'STRICT' THEN m."max_vcpus_per_td" ELSE COALESCE(m."max_vcpus_per_td", 65535) END) < h."present_cpus"
               THEN 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS' END
        ]::text[], NULL) AS "reasons"
      FROM "host" h
      JOIN "kernel" k ON k."id" = h."kernel_id"
      LEFT JOIN "tdx_module" m ON m."id" = h."module_id"
      LEFT JOIN "module_platform" mp ON mp."module_id" = h."module_id" AND mp."platform_id" = h."platform_id"
    ) r
  ) s
) u;

CREATE VIEW "host_tdx_status" AS
SELECT "host_id", "tdx_enabled", "tdx_disabled_reasons", "kvm_cap_max_vcpus", "kvm_loads",
       ("excess_key_ids" > 0 OR "excess_vcpus" > 0 OR COALESCE("excess_memory_mib" > 0, false)) AS "over_full"
FROM "host_capacity";
