// npm run db:migration:create -- NAME: writes the next migration from the change to prisma/schema.prisma.
import { createMigration } from '../src/db/migrate.js';

const name = process.argv[2];
if (!name) {
  console.error('usage: npm run db:migration:create -- NAME   (snake_case, e.g. add_td_priority)');
  process.exit(2);
}
try {
  const dir = await createMigration(name);
  console.log(dir ? `wrote ${dir}/migration.sql; append hand-written constraints below the generated SQL` : 'no schema change: no migration written');
} catch (err) {
  console.error(`tdplan: ${(err as Error).message}`);
  process.exit(1);
}
