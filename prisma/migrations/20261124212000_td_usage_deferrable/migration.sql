-- Hand-written (no datamodel change). A bulk import writes a million TDs in batches; keeping the
-- host columns per statement then rewrites every host row once per batch (the bench measured an
-- import 3x slower). The import sets tdplan.td_usage_deferred for its own transaction, skips the
-- triggers, and recomputes the columns once before it commits (src/inventory/import.ts).
CREATE OR REPLACE FUNCTION "td_usage_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('tdplan.td_usage_deferred', true) = 'on' THEN
    RETURN NULL;
  END IF;
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

-- The recomputation the import runs (and anyone may run after writing td with the triggers skipped).
CREATE FUNCTION "host_usage_recompute"() RETURNS void LANGUAGE sql AS $$
  UPDATE "host" h SET "td_count" = u.n, "allocated_vcpus" = u.v
  FROM (
    SELECT h2."id", count(t."id")::int AS n, COALESCE(sum(t."vcpus"), 0)::int AS v
    FROM "host" h2 LEFT JOIN "td" t ON t."host_id" = h2."id" GROUP BY h2."id"
  ) u
  WHERE h."id" = u."id" AND (h."td_count", h."allocated_vcpus") IS DISTINCT FROM (u.n, u.v);
$$;
