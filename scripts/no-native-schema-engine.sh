#!/bin/sh
# tdplan does not use Prisma's native schema engine: it cannot be downloaded on the machines
# we build on. `prisma generate` only needs PRISMA_SCHEMA_ENGINE_BINARY to name an existing
# file, so it names this one. Migrations are applied by `tdplan migrate` (src/db/migrate.ts),
# which runs the official @prisma/schema-engine-wasm over @prisma/adapter-pg and writes
# Prisma's own _prisma_migrations table; `prisma migrate deploy` works wherever the native
# engine exists. If you got here, a Prisma CLI command other than `generate` tried to run it.
echo "tdplan: the native Prisma schema engine is not installed; use 'npm run db:migrate' (see README)" >&2
exit 1
