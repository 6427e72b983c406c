-- CreateEnum
CREATE TYPE "ApiRole" AS ENUM ('VIEWER', 'PLANNER', 'ADMIN');

-- CreateEnum
CREATE TYPE "AuditAction" AS ENUM ('CREATE', 'UPDATE', 'DELETE', 'PLACE', 'MIGRATE', 'IMPORT', 'TOKEN_CREATE', 'TOKEN_REVOKE');

-- AlterTable
ALTER TABLE "tdx_module" ADD COLUMN     "generation" INTEGER NOT NULL DEFAULT 1;

-- AlterTable
ALTER TABLE "platform" ADD COLUMN     "generation" INTEGER NOT NULL DEFAULT 1;

-- AlterTable
ALTER TABLE "kernel" ADD COLUMN     "generation" INTEGER NOT NULL DEFAULT 1;

-- AlterTable
ALTER TABLE "host" ADD COLUMN     "generation" INTEGER NOT NULL DEFAULT 1;

-- AlterTable
ALTER TABLE "td" ADD COLUMN     "generation" INTEGER NOT NULL DEFAULT 1;

-- CreateTable
CREATE TABLE "api_token" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "role" "ApiRole" NOT NULL,
    "token_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_token_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_event" (
    "id" SERIAL NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor" TEXT NOT NULL,
    "action" "AuditAction" NOT NULL,
    "entity_type" TEXT NOT NULL,
    "entity_key" TEXT NOT NULL,
    "before" JSONB,
    "after" JSONB,

    CONSTRAINT "audit_event_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_token_name_key" ON "api_token"("name");

-- CreateIndex
CREATE UNIQUE INDEX "api_token_token_hash_key" ON "api_token"("token_hash");

-- CreateIndex
CREATE INDEX "audit_event_entity_type_entity_key_id_idx" ON "audit_event"("entity_type", "entity_key", "id");

-- CreateIndex
CREATE INDEX "audit_event_actor_id_idx" ON "audit_event"("actor", "id");

-- Hand-written.
ALTER TABLE "tdx_module" ADD CONSTRAINT "tdx_module_generation_positive" CHECK ("generation" >= 1);
ALTER TABLE "platform" ADD CONSTRAINT "platform_generation_positive" CHECK ("generation" >= 1);
ALTER TABLE "kernel" ADD CONSTRAINT "kernel_generation_positive" CHECK ("generation" >= 1);
ALTER TABLE "host" ADD CONSTRAINT "host_generation_positive" CHECK ("generation" >= 1);
ALTER TABLE "td" ADD CONSTRAINT "td_generation_positive" CHECK ("generation" >= 1);
ALTER TABLE "api_token" ADD CONSTRAINT "api_token_name_not_blank" CHECK (length(btrim("name")) BETWEEN 1 AND 100),
  ADD CONSTRAINT "api_token_hash_is_sha256_hex" CHECK ("token_hash" ~ '^[0-9a-f]{64}$');

-- The audit trail is append-only: no UPDATE or DELETE, whoever asks.
CREATE FUNCTION "audit_event_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_event is append-only';
END
$$;
CREATE TRIGGER "audit_event_append_only" BEFORE UPDATE OR DELETE ON "audit_event"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_event_append_only"();
