// The hand-written SQL baseline as a server, for `npm run bench`: the least a service answering the
// same question over HTTP does. It reads a request, runs one prepared statement through `pg` (the
// same driver and pool settings as tdplan) and writes the rows as JSON; no GraphQL, no auth, no
// validation. Measured beside `tdplan serve` (both processes of their own on the same Node), it is
// the like-for-like reading of issue 17's "within 2x of hand-written SQL": the in-process baseline
// (`pool.query` in the bench's own process) pays no HTTP at all, which no server can match.
//
// A request is POST {"text": <statement>, "values": [...]}: the statement travels in the body where a
// hand-written endpoint would have it in its code (a JSON.parse of a few hundred bytes more).
// Environment: DATABASE_URL, SQL_POOL_MAX. Prints {"url", "node"} once it listens; ends with its
// standard input (the bench ended, however) or on SIGTERM.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import pg from 'pg';

const connectionString = process.env.DATABASE_URL;
if (!connectionString) throw new Error('DATABASE_URL is required');
const pool = new pg.Pool({ connectionString, max: Number(process.env.SQL_POOL_MAX ?? 12) });
// As tdplan's pool (src/db/client.ts): no JIT compilation, which costs more than it saves on these statements.
pool.on('connect', (client) => {
  client.query('SET jit = off').catch(() => {});
});
// An idle connection's error (the database restarted) must not end the server.
pool.on('error', () => {});
// Named, so each connection prepares a statement once, as tdplan's and PostGraphile's are.
const names = new Map();
const nameOf = (text) => {
  let name = names.get(text);
  if (!name) names.set(text, (name = `sql_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`));
  return name;
};

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    let statement;
    try {
      statement = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400).end();
      return;
    }
    pool.query({ name: nameOf(statement.text), text: statement.text, values: statement.values ?? [] }).then(
      (result) => {
        const body = JSON.stringify(result.rows);
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      },
      (err) => {
        const body = JSON.stringify({ error: err.message });
        res.writeHead(500, { 'content-type': 'application/json' }).end(body);
      },
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}/`, node: process.version }));
});

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
