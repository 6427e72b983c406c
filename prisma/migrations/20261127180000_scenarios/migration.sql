-- CreateEnum
CREATE TYPE "ScenarioStatus" AS ENUM ('OPEN', 'ACCEPTED', 'REJECTED', 'APPLIED');

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "AuditAction" ADD VALUE 'DECIDE';
ALTER TYPE "AuditAction" ADD VALUE 'COMMENT';
ALTER TYPE "AuditAction" ADD VALUE 'APPLY';

-- AlterTable
ALTER TABLE "audit_event" ADD COLUMN     "scenario_id" INTEGER;

-- CreateTable
CREATE TABLE "scenario" (
    "id" SERIAL NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "author" TEXT NOT NULL,
    "status" "ScenarioStatus" NOT NULL DEFAULT 'OPEN',
    "changes" JSONB NOT NULL,
    "impact_when_created" JSONB NOT NULL,
    "applied_impact" JSONB,
    "accepted_baseline" JSONB,
    "decided_by" TEXT,
    "decided_at" TIMESTAMPTZ(3),
    "decision_note" TEXT,
    "applied_by" TEXT,
    "applied_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "scenario_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "scenario_comment" (
    "id" SERIAL NOT NULL,
    "scenario_id" INTEGER NOT NULL,
    "author" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "scenario_comment_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "scenario_status_id_idx" ON "scenario"("status", "id");

-- CreateIndex
CREATE INDEX "scenario_author_id_idx" ON "scenario"("author", "id");

-- CreateIndex
CREATE INDEX "scenario_comment_scenario_id_id_idx" ON "scenario_comment"("scenario_id", "id");

-- CreateIndex
CREATE INDEX "audit_event_scenario_id_id_idx" ON "audit_event"("scenario_id", "id");

-- AddForeignKey
ALTER TABLE "audit_event" ADD CONSTRAINT "audit_event_scenario_id_fkey" FOREIGN KEY ("scenario_id") REFERENCES "scenario"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "scenario_comment" ADD CONSTRAINT "scenario_comment_scenario_id_fkey" FOREIGN KEY ("scenario_id") REFERENCES "scenario"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Hand-written: what the application checks, the database enforces too.
ALTER TABLE "scenario" ADD CONSTRAINT "scenario_title_not_blank" CHECK (btrim("title") <> '');
ALTER TABLE "scenario" ADD CONSTRAINT "scenario_applied_has_impact" CHECK (("status" = 'APPLIED') = ("applied_impact" IS NOT NULL AND "applied_at" IS NOT NULL));
ALTER TABLE "scenario_comment" ADD CONSTRAINT "scenario_comment_body_not_blank" CHECK (btrim("body") <> '');
