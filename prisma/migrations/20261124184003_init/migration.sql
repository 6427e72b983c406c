-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "TdxVcpuPolicy" AS ENUM ('PRESENT_CPUS', 'MODULE_LIMIT');

-- CreateEnum
CREATE TYPE "TdxFeature" AS ENUM ('TOPOLOGY_ENUM');

-- CreateTable
CREATE TABLE "tdx_module" (
    "id" SERIAL NOT NULL,
    "version" TEXT NOT NULL,
    "max_vcpus_per_td" INTEGER,
    "features" "TdxFeature"[] DEFAULT ARRAY[]::"TdxFeature"[],
    "min_export_version" INTEGER,
    "max_export_version" INTEGER,
    "min_import_version" INTEGER,
    "max_import_version" INTEGER,

    CONSTRAINT "tdx_module_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "platform" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "sockets" INTEGER NOT NULL,
    "cores_per_socket" INTEGER NOT NULL,
    "threads_per_core" INTEGER NOT NULL,

    CONSTRAINT "platform_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "module_platform" (
    "module_id" INTEGER NOT NULL,
    "platform_id" INTEGER NOT NULL,

    CONSTRAINT "module_platform_pkey" PRIMARY KEY ("module_id","platform_id")
);

-- CreateTable
CREATE TABLE "kernel" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "kvm_max_vcpus" INTEGER NOT NULL,
    "tdx_vcpu_policy" "TdxVcpuPolicy" NOT NULL,

    CONSTRAINT "kernel_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "host" (
    "id" SERIAL NOT NULL,
    "hostname" TEXT NOT NULL,
    "platform_id" INTEGER NOT NULL,
    "module_id" INTEGER,
    "kernel_id" INTEGER NOT NULL,
    "present_cpus" INTEGER NOT NULL,
    "guest_key_ids" INTEGER NOT NULL,
    "allocation_ratio" DOUBLE PRECISION NOT NULL DEFAULT 1.0,

    CONSTRAINT "host_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "td" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "vcpus" INTEGER NOT NULL,
    "host_id" INTEGER,
    "migratable" BOOLEAN NOT NULL DEFAULT true,

    CONSTRAINT "td_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "tdx_module_version_key" ON "tdx_module"("version");

-- CreateIndex
CREATE UNIQUE INDEX "platform_name_key" ON "platform"("name");

-- CreateIndex
CREATE INDEX "module_platform_platform_id_idx" ON "module_platform"("platform_id");

-- CreateIndex
CREATE UNIQUE INDEX "kernel_name_key" ON "kernel"("name");

-- CreateIndex
CREATE UNIQUE INDEX "host_hostname_key" ON "host"("hostname");

-- CreateIndex
CREATE INDEX "host_platform_id_id_idx" ON "host"("platform_id", "id");

-- CreateIndex
CREATE INDEX "host_module_id_id_idx" ON "host"("module_id", "id");

-- CreateIndex
CREATE INDEX "host_kernel_id_id_idx" ON "host"("kernel_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "td_name_key" ON "td"("name");

-- CreateIndex
CREATE INDEX "td_host_id_id_idx" ON "td"("host_id", "id");

-- AddForeignKey
ALTER TABLE "module_platform" ADD CONSTRAINT "module_platform_module_id_fkey" FOREIGN KEY ("module_id") REFERENCES "tdx_module"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "module_platform" ADD CONSTRAINT "module_platform_platform_id_fkey" FOREIGN KEY ("platform_id") REFERENCES "platform"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "host" ADD CONSTRAINT "host_platform_id_fkey" FOREIGN KEY ("platform_id") REFERENCES "platform"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "host" ADD CONSTRAINT "host_module_id_fkey" FOREIGN KEY ("module_id") REFERENCES "tdx_module"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "host" ADD CONSTRAINT "host_kernel_id_fkey" FOREIGN KEY ("kernel_id") REFERENCES "kernel"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "td" ADD CONSTRAINT "td_host_id_fkey" FOREIGN KEY ("host_id") REFERENCES "host"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Hand-written: what the database can enforce beyond the datamodel (shared/domain.md, Entities).
ALTER TABLE "tdx_module"
  ADD CONSTRAINT "tdx_module_version_format" CHECK ("version" ~ '^[0-9]+(\.[0-9]+){1,4}$'),
  ADD CONSTRAINT "tdx_module_max_vcpus_per_td_u16" CHECK ("max_vcpus_per_td" IS NULL OR "max_vcpus_per_td" BETWEEN 1 AND 65535),
  ADD CONSTRAINT "tdx_module_features_not_null" CHECK ("features" IS NOT NULL),
  ADD CONSTRAINT "tdx_module_migration_all_or_none" CHECK (
    num_nulls("min_export_version", "max_export_version", "min_import_version", "max_import_version") IN (0, 4)),
  ADD CONSTRAINT "tdx_module_migration_ranges" CHECK (
    "min_export_version" >= 0 AND "min_import_version" >= 0
    AND "min_export_version" <= "max_export_version" AND "min_import_version" <= "max_import_version");

ALTER TABLE "platform"
  ADD CONSTRAINT "platform_name_not_blank" CHECK (length(btrim("name")) > 0),
  ADD CONSTRAINT "platform_sockets_positive" CHECK ("sockets" > 0),
  ADD CONSTRAINT "platform_cores_per_socket_positive" CHECK ("cores_per_socket" > 0),
  ADD CONSTRAINT "platform_threads_per_core_positive" CHECK ("threads_per_core" > 0);

ALTER TABLE "kernel"
  ADD CONSTRAINT "kernel_name_not_blank" CHECK (length(btrim("name")) > 0),
  ADD CONSTRAINT "kernel_kvm_max_vcpus_range" CHECK ("kvm_max_vcpus" BETWEEN 1 AND 4096);

ALTER TABLE "host"
  ADD CONSTRAINT "host_hostname_not_blank" CHECK (length(btrim("hostname")) > 0),
  ADD CONSTRAINT "host_present_cpus_positive" CHECK ("present_cpus" > 0),
  ADD CONSTRAINT "host_guest_key_ids_non_negative" CHECK ("guest_key_ids" >= 0),
  ADD CONSTRAINT "host_allocation_ratio_positive" CHECK ("allocation_ratio" > 0 AND "allocation_ratio" <= 64);

ALTER TABLE "td"
  ADD CONSTRAINT "td_name_not_blank" CHECK (length(btrim("name")) > 0),
  ADD CONSTRAINT "td_vcpus_positive" CHECK ("vcpus" > 0);

-- Planned (unplaced) TDs are listed often: the (host_id, id) index serves placed ones.
CREATE INDEX "td_unplaced_idx" ON "td" ("id") WHERE "host_id" IS NULL;
