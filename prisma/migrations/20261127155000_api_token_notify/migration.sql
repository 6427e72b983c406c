-- Hand-written (no datamodel change): every change to an API token is announced on the channel
-- "tdplan_api_token" with the token's hash, so each tdplan instance drops it from its
-- authentication cache at once (src/auth/token-cache.ts). NOTIFY is delivered at commit.
-- Idempotent (OR REPLACE, IF EXISTS): it may meet a database where an earlier name of it ran.
CREATE OR REPLACE FUNCTION "api_token_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('tdplan_api_token', OLD.token_hash);
  ELSE
    PERFORM pg_notify('tdplan_api_token', NEW.token_hash);
    IF TG_OP = 'UPDATE' AND OLD.token_hash IS DISTINCT FROM NEW.token_hash THEN
      PERFORM pg_notify('tdplan_api_token', OLD.token_hash);
    END IF;
  END IF;
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS "api_token_notify" ON "api_token";
CREATE TRIGGER "api_token_notify" AFTER INSERT OR UPDATE OR DELETE ON "api_token"
  FOR EACH ROW EXECUTE FUNCTION "api_token_notify"();

-- TRUNCATE has no rows to name: announce it with an empty payload (every cache is cleared).
CREATE OR REPLACE FUNCTION "api_token_notify_truncate"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tdplan_api_token', '');
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS "api_token_notify_truncate" ON "api_token";
CREATE TRIGGER "api_token_notify_truncate" AFTER TRUNCATE ON "api_token"
  FOR EACH STATEMENT EXECUTE FUNCTION "api_token_notify_truncate"();
