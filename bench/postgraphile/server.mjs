// PostGraphile 5 over the bench's database, for `npm run bench`'s comparison (issue 17): the
// default Amber preset, GraphQL generated from the tables of schema public, the host_capacity view
// exposed. Run by bench/run.ts under Node 22 (PostGraphile 5 needs it); it prints one line of JSON,
// {"url": ...}, once it listens, and exits when its standard input closes (the bench ended, however).
//
// Environment: DATABASE_URL (the bench database), PGL_POOL_MAX (connections, as tdplan's pool).
import { createServer } from 'node:http';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { jsonPgSmartTags } from 'postgraphile/utils';

const connectionString = process.env.DATABASE_URL;
if (!connectionString) throw new Error('DATABASE_URL is required');

// What a PostGraphile user would declare, as smart tags given here (nothing is written to the
// database): hostname is unique (Prisma makes a unique index, which PostGraphile does not take as a
// key, so without it there is no hostByHostname), and the host_capacity view has host_id as its key
// and a relation to host, so each host has its hostCapacityByHostId.
const SmartTags = jsonPgSmartTags({
  version: 1,
  config: {
    class: {
      host: { tags: { unique: 'hostname' } },
      host_capacity: { tags: { primaryKey: 'host_id', foreignKey: '(host_id) references host (id)' } },
    },
  },
});

const pgl = postgraphile({
  extends: [PostGraphileAmberPreset],
  plugins: [SmartTags],
  pgServices: [makePgService({ connectionString, schemas: ['public'], poolConfig: { max: Number(process.env.PGL_POOL_MAX ?? 12) } })],
  grafserv: { watch: false, graphiql: false },
  grafast: { explain: false },
});

const serv = pgl.createServ(grafserv);
const server = createServer();
server.on('error', (err) => {
  console.error(err);
  process.exit(1);
});
serv.addTo(server);
// Build the schema (introspection) before saying we are ready, so the first timed request does not.
await pgl.getSchema();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}/graphql`, node: process.version }));
});

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
