-- AlterTable
ALTER TABLE "host" ADD COLUMN     "allocated_vcpus" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "td_count" INTEGER NOT NULL DEFAULT 0;

-- Hand-written: every placement question needs each host's TD count and allocated vCPUs. Summing
-- a million TDs per question is too slow (bench/README.md), so the host keeps them, maintained
-- here in the same statement that changes td. Statement-level triggers with transition tables
-- keep bulk imports set-based: one grouped UPDATE per statement, not one per row.
ALTER TABLE "host"
  ADD CONSTRAINT "host_td_count_non_negative" CHECK ("td_count" >= 0),
  ADD CONSTRAINT "host_allocated_vcpus_non_negative" CHECK ("allocated_vcpus" >= 0);

CREATE FUNCTION "td_usage_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- new_rows / old_rows exist only for the events that have them; the deltas add up per host.
  IF TG_OP = 'INSERT' THEN
    UPDATE "host" h SET "td_count" = h."td_count" + d.n, "allocated_vcpus" = h."allocated_vcpus" + d.v
    FROM (SELECT "host_id", count(*)::int AS n, sum("vcpus")::int AS v FROM new_rows WHERE "host_id" IS NOT NULL GROUP BY "host_id") d
    WHERE h."id" = d."host_id";
  ELSIF TG_OP = 'DELETE' THEN
    UPDATE "host" h SET "td_count" = h."td_count" - d.n, "allocated_vcpus" = h."allocated_vcpus" - d.v
    FROM (SELECT "host_id", count(*)::int AS n, sum("vcpus")::int AS v FROM old_rows WHERE "host_id" IS NOT NULL GROUP BY "host_id") d
    WHERE h."id" = d."host_id";
  ELSE
    UPDATE "host" h SET "td_count" = h."td_count" + d.n, "allocated_vcpus" = h."allocated_vcpus" + d.v
    FROM (
      SELECT "host_id", sum(n)::int AS n, sum(v)::int AS v FROM (
        SELECT "host_id", 1 AS n, "vcpus" AS v FROM new_rows WHERE "host_id" IS NOT NULL
        UNION ALL
        SELECT "host_id", -1, -"vcpus" FROM old_rows WHERE "host_id" IS NOT NULL
      ) x GROUP BY "host_id"
    ) d
    WHERE h."id" = d."host_id" AND (d.n <> 0 OR d.v <> 0);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "td_usage_insert" AFTER INSERT ON "td" REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "td_usage_apply"();
CREATE TRIGGER "td_usage_update" AFTER UPDATE ON "td" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "td_usage_apply"();
CREATE TRIGGER "td_usage_delete" AFTER DELETE ON "td" REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION "td_usage_apply"();

-- Existing TDs.
UPDATE "host" h SET "td_count" = u.n, "allocated_vcpus" = u.v
FROM (SELECT "host_id", count(*)::int AS n, sum("vcpus")::int AS v FROM "td" WHERE "host_id" IS NOT NULL GROUP BY "host_id") u
WHERE h."id" = u."host_id";

-- The view every reader uses now reads the columns: same name, same columns, no aggregation.
CREATE OR REPLACE VIEW "host_usage" AS
SELECT h."id" AS "host_id", h."td_count", h."allocated_vcpus" FROM "host" h;
