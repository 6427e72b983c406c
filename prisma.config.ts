// Prisma CLI configuration. The URL matters only to `prisma migrate deploy` run by hand where
// the native schema engine exists; tdplan itself applies migrations with `tdplan migrate`.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/tdplan' },
});
