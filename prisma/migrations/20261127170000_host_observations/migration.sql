-- CreateTable
CREATE TABLE "host_observation" (
    "host_id" INTEGER NOT NULL,
    "observed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "observed_by" TEXT NOT NULL,
    "probe" JSONB NOT NULL,
    "drift" BOOLEAN NOT NULL,
    "differences" JSONB NOT NULL,

    CONSTRAINT "host_observation_pkey" PRIMARY KEY ("host_id")
);

-- CreateIndex
CREATE INDEX "host_observation_drift_host_id_idx" ON "host_observation"("drift", "host_id");

-- AddForeignKey
ALTER TABLE "host_observation" ADD CONSTRAINT "host_observation_host_id_fkey" FOREIGN KEY ("host_id") REFERENCES "host"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The differences are a JSON array, written by tdplan (src/planning/drift.ts); drift says whether it is empty.
ALTER TABLE "host_observation" ADD CONSTRAINT "host_observation_differences_array" CHECK (jsonb_typeof("differences") = 'array');
ALTER TABLE "host_observation" ADD CONSTRAINT "host_observation_drift_iff_differences" CHECK ("drift" = (jsonb_array_length("differences") > 0));
