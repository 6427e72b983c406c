// npm run bench: every planning query through the real HTTP server, side by side with its
// baseline (the same answer from hand-written SQL over pg), on a generated fleet in a local
// PostgreSQL. Prints median and p95 latency, throughput under concurrency, SQL round trips per
// request and the ratio to the baseline; writes bench/results/latest.json (or BENCH_RESULTS, a file).
//
// BENCH_HOSTS (100000), BENCH_TDS (1000000), BENCH_RUNS (15), BENCH_CONCURRENCY (8), BENCH_THROUGHPUT_MS (2000),
// BENCH_DATABASE_URL (postgresql://postgres@127.0.0.1:5432/postgres: a server where we may create
// the database BENCH_DATABASE_NAME, default tdplan_bench), BENCH_ONLY (a regular expression: run only the cases whose
// name matches it), BENCH_REUSE=1 (keep the fleet a previous run left in that database when it has
// the same size), BENCH_CPU_PROFILE (a file: a V8 CPU profile of the measuring phase only, of this process:
// not of tdplan serve, the SQL server or PostGraphile,
// the server and its clients in this one process; open it in Chrome DevTools or speedscope).
//
// Each case is also measured served, like for like: `tdplan serve` and the same baseline statement
// served over HTTP by bench/sql-server.mjs (read a request, run the statement, write the rows as
// JSON), each a process of its own on the same Node; their ratio is the reading of "within 2x of the
// hand-written SQL" that charges both sides one HTTP request (the in-process ratio charges tdplan alone).
//
// It also times the planning UI's first screens (Fleet, Hosts) with the very operations the UI
// sends (ui/src/queries.ts), against the target of 300 ms median for a screen's data.
//
// Issue 17's comparison: PostGraphile 5 (bench/postgraphile/, a package of its own with its own
// lockfile, run under Node 22) over the same database answers the hosts page, one host and the
// capacity page; each is checked to return the same rows as tdplan, then measured interleaved with
// tdplan's and the SQL baseline's requests, and with tdplan's own server run as operators run it
// (`tdplan serve`, a process of its own on PostGraphile's Node), whose figures the ratios to
// PostGraphile are taken from. BENCH_POSTGRAPHILE=0 leaves it out, =1 makes it
// required (fail when it cannot be installed or started); by default it runs when
// bench/postgraphile installs (`npm ci` there) and a Node 22 binary is found
// (BENCH_POSTGRAPHILE_NODE, the one its lockfile installs, or this process's own Node when >= 22).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import inspector from 'node:inspector';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { print } from 'graphql';
import pg from 'pg';
import { createApiToken } from '../src/commands/tokens.js';
import { connectDatabase, type Database } from '../src/db/client.js';
import { applyMigrations } from '../src/db/migrate.js';
import { generateFleet } from '../src/inventory/generate.js';
import { SYSTEM_ACTOR } from '../src/auth/principal.js';
import { importInventory } from '../src/commands/import-inventory.js';
import { createTdplanYoga, listen } from '../src/server.js';
import { FleetQuery, HostFilterChoicesQuery, HostsQuery } from '../ui/src/queries.js';

const HOSTS = Number(process.env.BENCH_HOSTS ?? 100_000);
const TDS = Number(process.env.BENCH_TDS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
// Warm-up per contender before anything is timed: CONCURRENCY clients for WARMUP_MS (at least 3
// requests each). V8 optimises a server's hot code only after some hundred requests of a slow shape
// (tdplan's hosts page: 17 CPU ms per request over its first 100, 10 to 13 from the 300th on), and
// after some thousands of a fast one (one host, both servers: about 0.65 CPU ms per request after
// 400, 0.3 to 0.4 after 6,000; bench/README.md), and the bench measures servers as they run: warm.
// Until then the warm-up also stopped after 400 requests, which left the fast shapes cold.
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 3000);
// The throughput phase of each contender lasts at least THROUGHPUT_MS (its two halves together), and
// each client sends at least RUNS requests in it. Before, it was RUNS requests per client and no
// more: 120 requests, a tenth of a second for one host, of which the clients' ramp-up, a garbage
// collection or a 10 ms tick of /proc's CPU clock were a large part (bench/README.md, "Prepared
// statements"): one host's throughput read 600 to 750 requests/s where a steady load gives 1,800.
const THROUGHPUT_MS = Number(process.env.BENCH_THROUGHPUT_MS ?? 2000);
const SERVER = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const NAME = process.env.BENCH_DATABASE_NAME ?? 'tdplan_bench';
if (!/^[a-z_][a-z0-9_]*$/.test(NAME)) throw new Error(`BENCH_DATABASE_NAME must be a plain lower-case identifier, got ${JSON.stringify(NAME)}`);
const ONLY = process.env.BENCH_ONLY;
const PROFILE = process.env.BENCH_CPU_PROFILE;
const RESULTS = process.env.BENCH_RESULTS;
const POSTGRAPHILE = process.env.BENCH_POSTGRAPHILE ?? 'auto';
if (!['0', '1', 'auto'].includes(POSTGRAPHILE)) throw new Error(`BENCH_POSTGRAPHILE must be 0 or 1, got ${JSON.stringify(POSTGRAPHILE)}`);
const PGL_DIR = fileURLToPath(new URL('./postgraphile/', import.meta.url));
const REPO_DIR = fileURLToPath(new URL('../', import.meta.url));

/** node --cpu-prof for a part of the run: the inspector's profiler, started and stopped here. */
async function startProfiler(): Promise<{ stop(file: string): Promise<void> }> {
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return {
    async stop(file: string) {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      await writeFile(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

function urlFor(database: string): string {
  const u = new URL(SERVER);
  u.pathname = `/${database}`;
  return u.toString();
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Measure {
  medianMs: number;
  p95Ms: number;
  throughputPerS: number;
  /**
   * CPU time per request in the throughput phase of this process (server and clients) and of the
   * process serving the requests when it is another one (PostGraphile's): what the JavaScript
   * costs, and far steadier than latency on a machine shared with other work.
   */
  cpuMsPerRequest: number;
  /** Of cpuMsPerRequest, what the other process serving the requests spent (PostGraphile's); the rest is the clients'. */
  serverProcessCpuMsPerRequest?: number;
  /**
   * CPU time per request of the PostgreSQL server's processes over the same phase (not in
   * cpuMsPerRequest), where the database is on this machine and /proc shows it; else absent.
   */
  postgresCpuMsPerRequest?: number;
  /** Requests sent in the throughput phase. */
  throughputRequests: number;
}

/** A baseline: one hand-written statement and its parameters. */
interface Statement {
  text: string;
  params: unknown[];
}

/** One of the things measured side by side: what one request is, and who else spends CPU on it. */
interface Contender {
  run: () => Promise<unknown>;
  /** Cumulative CPU milliseconds of another process that serves these requests (PostGraphile's). */
  serverCpuMs?: () => number;
}

function cpuMsNow(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Requests from CONCURRENCY clients until WARMUP_MS have passed (3 each at least). */
async function warmUp(run: () => Promise<unknown>): Promise<void> {
  const until = performance.now() + WARMUP_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = 0; i < 3 || performance.now() < until; i++) {
        await run();
      }
    }),
  );
}

/**
 * Measures contenders side by side, interleaved so that a change in the machine's load falls on
 * all of them alike: a warm-up each (warmUp); then RUNS rounds of one sequential request each (latency),
 * the order rotating every round; then throughput, CONCURRENCY clients per contender, in two halves
 * run in opposite orders (A B C, then C B A).
 */
async function measureSideBySide(contenders: Contender[]): Promise<Measure[]> {
  for (const c of contenders) await warmUp(c.run);
  const times = contenders.map((): number[] => []);
  for (let i = 0; i < RUNS; i++) {
    for (let j = 0; j < contenders.length; j++) {
      const k = (i + j) % contenders.length;
      const t = performance.now();
      await contenders[k]!.run();
      times[k]!.push(performance.now() - t);
    }
  }
  const seconds = contenders.map(() => 0);
  const cpuMs = contenders.map(() => 0);
  const serverCpuMs = contenders.map(() => 0);
  const postgresMs = contenders.map(() => 0);
  const requests = contenders.map(() => 0);
  const forward = contenders.map((_, k) => k);
  const halves: [number, number[]][] =
    contenders.length === 1
      ? [[RUNS, forward]]
      : [
          [Math.ceil(RUNS / 2), forward],
          [Math.floor(RUNS / 2), [...forward].reverse()],
        ];
  for (const [runs, order] of halves) {
    for (const k of order) {
      const c = contenders[k]!;
      const postgresBefore = postgresCpuSnapshot();
      const started = performance.now();
      const until = started + THROUGHPUT_MS / halves.length;
      const ownBefore = cpuMsNow();
      const serverBefore = c.serverCpuMs?.() ?? 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (let i = 0; i < runs || performance.now() < until; i++) {
            await c.run();
            requests[k]! += 1;
          }
        }),
      );
      seconds[k]! += (performance.now() - started) / 1000;
      serverCpuMs[k]! += (c.serverCpuMs?.() ?? 0) - serverBefore;
      cpuMs[k]! += cpuMsNow() - ownBefore;
      postgresMs[k]! += postgresCpuSince(postgresBefore);
    }
  }
  return contenders.map((_, k) => {
    const sorted = times[k]!.sort((a, b) => a - b);
    return {
      medianMs: sorted[Math.floor(sorted.length / 2)]!,
      p95Ms: percentile(sorted, 95),
      throughputPerS: requests[k]! / seconds[k]!,
      cpuMsPerRequest: (cpuMs[k]! + serverCpuMs[k]!) / requests[k]!,
      ...(contenders[k]!.serverCpuMs ? { serverProcessCpuMsPerRequest: serverCpuMs[k]! / requests[k]! } : {}),
      ...(Number.isNaN(postgresMs[k]!) ? {} : { postgresCpuMsPerRequest: postgresMs[k]! / requests[k]! }),
      throughputRequests: requests[k]!,
    };
  });
}

async function measure(run: () => Promise<unknown>): Promise<Measure> {
  return (await measureSideBySide([{ run }]))[0]!;
}

/** A running PostGraphile server (bench/postgraphile/server.mjs in a process of its own). */
interface PostGraphileServer extends ChildServer {
  version: string;
}

/**
 * Installs bench/postgraphile from its lockfile (`npm ci`, no install scripts) unless an install
 * newer than the lockfile is there (npm writes node_modules/.package-lock.json last).
 */
function installPostGraphile(): void {
  const installed = `${PGL_DIR}node_modules/.package-lock.json`;
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(`${PGL_DIR}package-lock.json`).mtimeMs) return;
  console.log('installing bench/postgraphile from its lockfile (npm ci)...');
  const npm = spawnSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: PGL_DIR, stdio: 'inherit' });
  if (npm.status !== 0) throw new Error(`npm ci in bench/postgraphile failed (${npm.error?.message ?? `exit status ${npm.status}`})`);
}

/** A Node >= 22 to run PostGraphile with: BENCH_POSTGRAPHILE_NODE, the lockfile's, or our own. */
function node22(): string {
  const given = process.env.BENCH_POSTGRAPHILE_NODE;
  if (given) return given;
  const pinned = `${PGL_DIR}node_modules/node-${process.platform}-${process.arch}/bin/node`;
  if (existsSync(pinned)) return pinned;
  if (Number(process.versions.node.split('.')[0]) >= 22) return process.execPath;
  throw new Error(
    `PostGraphile 5 needs Node 22 or later: this is Node ${process.version}, bench/postgraphile's lockfile has no Node binary for ${process.platform}-${process.arch}; set BENCH_POSTGRAPHILE_NODE`,
  );
}

/**
 * The Node `tdplan serve` and the SQL server run on: PostGraphile's (node22()) where there is one,
 * so that all three are compared on one Node; else this process's own.
 */
function servedNode(): string {
  try {
    return node22();
  } catch {
    return process.execPath;
  }
}

/** Clock ticks of /proc/<pid>/stat's CPU times. */
function clockTicksPerSecond(): number {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout) > 0 ? Number(r.stdout) : 100;
}

/** ", + 0.36 PostgreSQL": the database's CPU per request, where it was measured. */
function postgresPart(m: Measure): string {
  return m.postgresCpuMsPerRequest === undefined ? '' : ` + ${m.postgresCpuMsPerRequest.toFixed(2)} PostgreSQL`;
}

/** The PostgreSQL server's processes' CPU time so far, per process; null where it cannot be seen. */
type PostgresCpu = Map<string, number> | null;

const postgresIsLocal = ['127.0.0.1', 'localhost', '::1', '[::1]', ''].includes(new URL(SERVER).hostname) && existsSync('/proc/self/stat');

function postgresCpuSnapshot(): PostgresCpu {
  if (!postgresIsLocal) return null;
  const ticks = clockTicks;
  const cpu = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8') !== 'postgres\n') continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      cpu.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks);
    } catch {
      // gone between the listing and the read
    }
  }
  return cpu.size > 0 ? cpu : null;
}

/**
 * PostgreSQL's CPU milliseconds since `before` (a backend started since counts from 0; one that
 * ended since is left out), NaN where it cannot be seen.
 */
function postgresCpuSince(before: PostgresCpu): number {
  const now = postgresCpuSnapshot();
  if (!before || !now) return NaN;
  let ms = 0;
  for (const [pid, cpu] of now) ms += cpu - (before.get(pid) ?? 0);
  return ms;
}

/**
 * The CPU time so far (user and system) of another process, a server the bench started: a reader
 * of /proc/<pid>/stat, which answers NaN where /proc is not there (or the process is gone).
 */
const clockTicks = clockTicksPerSecond();

function processCpuMs(pid: number | undefined): () => number {
  const ticks = clockTicks;
  const statFile = `/proc/${pid}/stat`;
  return () => {
    if (pid === undefined || !existsSync(statFile)) return NaN;
    // Fields 14 and 15 (utime, stime), counted after the command name's closing parenthesis.
    const fields = readFileSync(statFile, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks;
  };
}

/** A server of the bench's in a process of its own that prints {"url", "node"} once it listens. */
interface ChildServer {
  url: string;
  node: string;
  /** Its CPU time so far (user and system, from /proc), or NaN where /proc is not there. */
  cpuMs(): number;
  close(): Promise<void>;
}

/** `<node> <script>`, started and awaited until it prints where it listens (what: for messages). */
async function startChildServer(what: string, node: string, script: string, cwd: string, env: Record<string, string>): Promise<ChildServer> {
  const child = spawn(node, [script], {
    cwd,
    env: { ...process.env, NODE_ENV: 'production', ...env },
    // Its standard input stays open while we run: when this process ends, however, it ends too.
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ url: string; node: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start within 120 s`)), 120_000);
    child.once('error', (err) => reject(err));
    child.once('exit', (code, signal) => reject(new Error(`${what} exited before it listened (${signal ?? `exit code ${code}`})`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as { url: string; node: string });
      } catch {
        reject(new Error(`${what} printed ${JSON.stringify(line)} where its URL was expected`));
      }
    });
  }).catch((err: unknown) => {
    child.kill('SIGTERM');
    throw err;
  });
  return {
    ...ready,
    cpuMs: processCpuMs(child.pid),
    async close() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function startPostGraphile(databaseUrl: string): Promise<PostGraphileServer> {
  const server = await startChildServer('PostGraphile', node22(), `${PGL_DIR}server.mjs`, PGL_DIR, {
    DATABASE_URL: databaseUrl,
    PGL_POOL_MAX: String(CONCURRENCY + 4),
  });
  const version = (JSON.parse(readFileSync(`${PGL_DIR}node_modules/postgraphile/package.json`, 'utf8')) as { version: string }).version;
  return { ...server, version };
}

/**
 * The hand-written SQL served over HTTP (bench/sql-server.mjs, on the Node `tdplan serve` runs on,
 * with tdplan's own `pg`): the baseline measured like for like with `tdplan serve`.
 */
function startSqlServer(node: string, databaseUrl: string): Promise<ChildServer> {
  return startChildServer('the SQL server', node, `${REPO_DIR}bench/sql-server.mjs`, REPO_DIR, {
    DATABASE_URL: databaseUrl,
    SQL_POOL_MAX: String(CONCURRENCY + 4),
  });
}

/** PostGraphile, installed and started, or why not (when BENCH_POSTGRAPHILE is not 1). */
async function postGraphileOrWhyNot(databaseUrl: string): Promise<PostGraphileServer | string> {
  try {
    installPostGraphile();
    return await startPostGraphile(databaseUrl);
  } catch (err) {
    if (POSTGRAPHILE === '1') throw err;
    return (err as Error).message;
  }
}

/** tdplan's own server, `tdplan serve`, in a process of its own (the served measures, and the comparison with PostGraphile). */
interface TdplanServeServer {
  url: string;
  node: string;
  /** Its CPU time so far (user and system, from /proc), or NaN where /proc is not there. */
  cpuMs(): number;
  close(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 just now: listen on port 0, see which one it got, close it. */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * `<node> bin/tdplan.js serve` from the repository's root, as operators run it, on the bench's
 * database: production, no per-token limits (the bench's clients share one token), no request logs
 * (LOG_LEVEL=warn: PostGraphile's server writes none either). Ready once /readyz answers 200.
 */
const SETPRIV = '/usr/bin/setpriv';

async function startTdplanServe(node: string, databaseUrl: string): Promise<TdplanServeServer> {
  const port = await freePort();
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  // Only the settings given here: none of tdplan's own (TDPLAN_*, DATABASE_*) from the bench's environment.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(TDPLAN_|DATABASE_)/.test(name)));
  const serveArgs = ['bin/tdplan.js', 'serve', '--host', '127.0.0.1', '--port', String(port)];
  // Under util-linux's setpriv where there is one: the kernel sends it SIGTERM when the bench dies,
  // even of a SIGKILL, which no handler of ours sees (setpriv execs node: the pid stays the server's).
  const [command, args] = existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'SIGTERM', '--', node, ...serveArgs]] : [node, serveArgs];
  const child = spawn(command, args, {
    cwd: REPO_DIR,
    env: {
      ...inherited,
      DATABASE_URL: databaseUrl,
      NODE_ENV: 'production',
      TDPLAN_TOKEN_MAX_CONCURRENT: '0',
      TDPLAN_TOKEN_MAX_RPS: '0',
      LOG_LEVEL: 'warn',
    },
    // Standard input stays a pipe, as PostGraphile's. `tdplan serve` does not read it, so the bench
    // also stops it when it exits or is interrupted (below). Its log lines (warnings only) go to
    // ours; its standard error is kept for the message when it fails to start, then shown.
    stdio: ['pipe', 'inherit', 'pipe'],
  });
  let stderr = '';
  let ready = false;
  child.stderr!.on('data', (chunk: Buffer) => {
    if (ready) process.stderr.write(chunk);
    else stderr = (stderr + chunk.toString('utf8')).slice(-8000);
  });
  const stop = () => child.kill('SIGTERM');
  const onSignal = (signal: NodeJS.Signals) => {
    stop();
    process.kill(process.pid, signal); // the handler was once: the signal's default now (exit)
  };
  process.once('exit', stop);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, onSignal);
  // Set from the child's events while we poll.
  const state: { exited?: string; spawnError?: Error } = {};
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      state.exited = signal ?? `exit code ${code}`;
      resolve();
    });
    child.once('error', (err) => {
      state.spawnError = err;
      resolve();
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const readyBy = Date.now() + 120_000;
  try {
    for (;;) {
      if (state.spawnError) throw new Error(`cannot start tdplan serve with ${node}: ${state.spawnError.message}`);
      if (state.exited) throw new Error(`tdplan serve exited before it was ready (${state.exited}); its standard error:\n${stderr.trimEnd() || '(nothing)'}`);
      if (Date.now() > readyBy)
        throw new Error(`tdplan serve was not ready within 120 s (${url}/readyz); its standard error:\n${stderr.trimEnd() || '(nothing)'}`);
      const status = await fetch(`${url}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) {
        ready = true;
        break;
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 200))]);
    }
  } catch (err) {
    stop();
    await exited;
    throw err;
  }
  return {
    url: `${url}/graphql`,
    node: version,
    cpuMs: processCpuMs(child.pid),
    async close() {
      stop();
      await exited;
      process.off('exit', stop);
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(signal, onSignal);
    },
  };
}

const loadTimes = { generateS: 0, importS: 0 };

/**
 * The fleet in database NAME: generated and imported, or with BENCH_REUSE=1 the one a previous
 * run left there when it has the asked-for size (for repeated runs while profiling).
 */
async function loadFleet(): Promise<Database> {
  if (process.env.BENCH_REUSE === '1') {
    const db = connectDatabase(urlFor(NAME), { max: CONCURRENCY + 4 });
    const counts = await db.pool
      .query<{ hosts: number; tds: number }>('SELECT (SELECT count(*) FROM host)::int AS hosts, (SELECT count(*) FROM td)::int AS tds')
      .then(
        (r) => r.rows[0],
        () => undefined,
      );
    if (counts?.hosts === HOSTS && counts.tds === TDS) {
      await applyMigrations(urlFor(NAME));
      console.log(`reusing the fleet in ${NAME} (${HOSTS} hosts, ${TDS} TDs)`);
      return db;
    }
    await db.close();
  }
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${NAME}`);
  await admin.end();
  await applyMigrations(urlFor(NAME));
  const db = connectDatabase(urlFor(NAME), { max: CONCURRENCY + 4 });

  console.log(`generating ${HOSTS} hosts and ${TDS} TDs...`);
  let t = performance.now();
  const doc = generateFleet({ hosts: HOSTS, tds: TDS, seed: 42 });
  const generateS = (performance.now() - t) / 1000;
  t = performance.now();
  await importInventory(db, SYSTEM_ACTOR, { document: doc, mode: 'REPLACE' });
  // No ANALYZE here: the import leaves fresh statistics itself, and the bench measures what users get.
  const importS = (performance.now() - t) / 1000;
  console.log(`generated in ${generateS.toFixed(1)} s, imported in ${importS.toFixed(1)} s (${Math.round((HOSTS + TDS) / importS)} rows/s)`);
  loadTimes.generateS = generateS;
  loadTimes.importS = importS;
  return db;
}

interface Connection<T> {
  edges: { node: T }[];
}
interface TdplanCapacity {
  hostname: string;
  tdxEnabled: boolean;
  kvmCapMaxVcpus: number | null;
  freeVcpus: number;
  freeKeyIds: number;
  tdxDisabledReasons: { code: string }[];
}
interface PostGraphileCapacity {
  hostname: string;
  capacity: { tdxEnabled: boolean; kvmCapMaxVcpus: number | null; freeVcpus: number; freeKeyIds: number; tdxDisabledReasons: string[] };
}

/** Where two answers part, in their JSON, with some context: for the message of a failed check. */
function firstDifference(a: unknown, b: unknown, against = 'PostGraphile'): string {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  let i = 0;
  while (i < x.length && x[i] === y[i]) i++;
  const from = Math.max(0, i - 120);
  return `at character ${i}, tdplan ...${x.slice(from, i + 120)}... against ${against} ...${y.slice(from, i + 120)}...`;
}

async function main(): Promise<void> {
  const db = await loadFleet();
  const { generateS, importS } = loadTimes;

  const server = await listen(createTdplanYoga(db, { exposeSqlRoundTrips: true }), '127.0.0.1', 0);
  let lastRoundTrips = 0;
  // A planner's token, as a planning UI would hold (whatIf needs PLANNER).
  const { token } = await createApiToken(db.prisma, { name: 'bench', role: 'ADMIN' }, `bench-planner-${Date.now()}`, 'PLANNER');
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const post = async (url: string, hdrs: Record<string, string>, query: string, variables?: Record<string, unknown>) => {
    const response = await fetch(url, { method: 'POST', headers: hdrs, body: JSON.stringify({ query, variables }) });
    const body = (await response.json()) as { data?: unknown; errors?: unknown[]; extensions?: { sqlRoundTrips?: number } };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body;
  };
  // To the in-process server, or to another tdplan server on the same database (tdplan serve's):
  // the same token works on both; only the in-process one counts round trips.
  const gql = async (query: string, variables?: Record<string, unknown>, url = server.url): Promise<unknown> => {
    const body = await post(url, headers, query, variables);
    if (url === server.url) lastRoundTrips = body.extensions?.sqlRoundTrips ?? 0;
    return body.data;
  };
  // PostGraphile, when it runs: its own server in its own process, no token (it has no auth of its own).
  const wanted = (name: string) => !ONLY || new RegExp(ONLY).test(name);
  let pgl: PostGraphileServer | null = null;
  let serve: TdplanServeServer | null = null;
  let pglSkipped: string | null = POSTGRAPHILE === '0' ? 'BENCH_POSTGRAPHILE=0' : null;
  const pglGql = async (query: string, variables?: Record<string, unknown>): Promise<unknown> =>
    (await post(pgl!.url, { 'content-type': 'application/json', accept: 'application/json' }, query, variables)).data;
  // A baseline's statement: run through the pool tdplan's own hand-written SQL takes (a named
  // statement, prepared once per connection), and through the SQL server over HTTP.
  const sql = (text: string, params: unknown[] = []): Statement => ({ text, params });

  const module = (await db.pool.query<{ id: number; version: string }>(`SELECT id, version FROM tdx_module WHERE version = '2.0.02.00.0420'`)).rows[0]!;
  const td = (
    await db.pool.query<{ id: number; name: string; vcpus: number; host_id: number; min_export_version: number; max_export_version: number }>(
      `SELECT t.id, t.name, t.vcpus, t.host_id, m.min_export_version, m.max_export_version FROM td t JOIN host h ON h.id = t.host_id JOIN tdx_module m ON m.id = h.module_id
     WHERE t.migratable AND h.module_id = $1 ORDER BY t.id LIMIT 1`,
      [module.id],
    )
  ).rows[0]!;

  const busyHost = (
    await db.pool.query<{ hostname: string }>(`SELECT h.hostname FROM host h JOIN td t ON t.host_id = h.id GROUP BY h.id ORDER BY count(*) DESC, h.id LIMIT 1`)
  ).rows[0]!;

  // The baselines: what a careful engineer would write by hand for the same answer.
  // Where PostGraphile is compared: the same question in its generated schema, aliased to tdplan's
  // field names, and what is compared of the two answers (by default all of it).
  interface PostGraphileCase {
    query: string;
    variables?: Record<string, unknown>;
    note: string;
    comparable?: (tdplan: unknown, postgraphile: unknown) => [unknown, unknown];
  }
  // Each case's GraphQL request, sent by ask(c, url): to the in-process server, or to tdplan serve's.
  const cases: {
    name: string;
    query: string;
    variables?: Record<string, unknown>;
    baseline: Statement;
    baselineNote: string;
    postgraphile?: PostGraphileCase;
  }[] = [
    {
      name: 'hosts page (100, nested module/platform/kernel/TDs)',
      query: `{ hosts(first: 100) { totalCount edges { node { hostname presentCpus platform { name } module { version maxVcpusPerTd } kernel { name kvmMaxVcpus }
        tds(first: 20) { totalCount edges { node { name vcpus } } } } } } }`,
      baseline: sql(`SELECT h.hostname, h.present_cpus, p.name, m.version, m.max_vcpus_per_td, k.name, k.kvm_max_vcpus,
          (SELECT json_agg(x) FROM (SELECT t.name, t.vcpus FROM td t WHERE t.host_id = h.id ORDER BY t.id LIMIT 20) x),
          (SELECT count(*) FROM td t WHERE t.host_id = h.id), (SELECT count(*) FROM host)
        FROM host h JOIN platform p ON p.id = h.platform_id JOIN kernel k ON k.id = h.kernel_id LEFT JOIN tdx_module m ON m.id = h.module_id
        ORDER BY h.id LIMIT 100`),
      baselineNote: 'one SQL statement: joins, a lateral page of TDs and counts',
      postgraphile: {
        query: `{ hosts: allHosts(first: 100, orderBy: PRIMARY_KEY_ASC) { totalCount edges { node { hostname presentCpus platform: platformByPlatformId { name }
        module: tdxModuleByModuleId { version maxVcpusPerTd } kernel: kernelByKernelId { name kvmMaxVcpus }
        tds: tdsByHostId(first: 20, orderBy: PRIMARY_KEY_ASC) { totalCount edges { node { name vcpus } } } } } } }`,
        note: 'the same fields; the whole answer compared',
      },
    },
    {
      name: 'one host by hostname, 50 TDs',
      query: `query($h: String!) { host(hostname: $h) { hostname presentCpus guestKeyIds platform { name } module { version } kernel { name }
        tds(first: 50) { totalCount edges { node { name vcpus migratable } } } } }`,
      variables: { h: busyHost.hostname },
      baseline: sql(
        `SELECT h.hostname, h.present_cpus, h.guest_key_ids, p.name, m.version, k.name,
          (SELECT json_agg(x) FROM (SELECT t.name, t.vcpus, t.migratable FROM td t WHERE t.host_id = h.id ORDER BY t.id LIMIT 50) x),
          (SELECT count(*) FROM td t WHERE t.host_id = h.id)
        FROM host h JOIN platform p ON p.id = h.platform_id JOIN kernel k ON k.id = h.kernel_id LEFT JOIN tdx_module m ON m.id = h.module_id
        WHERE h.hostname = $1`,
        [busyHost.hostname],
      ),
      baselineNote: 'one statement: the host, its references, a page of TDs and their count',
      postgraphile: {
        query: `query($h: String!) { host: hostByHostname(hostname: $h) { hostname presentCpus guestKeyIds platform: platformByPlatformId { name }
        module: tdxModuleByModuleId { version } kernel: kernelByKernelId { name }
        tds: tdsByHostId(first: 50, orderBy: PRIMARY_KEY_ASC) { totalCount edges { node { name vcpus migratable } } } } }`,
        variables: { h: busyHost.hostname },
        note: 'the same fields (hostByHostname from a smart tag: the unique index on hostname is not a constraint); the whole answer compared',
      },
    },
    {
      name: 'capacity page (100 hosts, R1-R4 fields)',
      query: `{ hosts(first: 100) { edges { node { hostname tdxEnabled kvmCapMaxVcpus kvmCapMaxVcpusLimitedBy freeVcpus freeKeyIds
        tdxDisabledReasons { code } } } } }`,
      baseline: sql(`SELECT h.hostname, c.tdx_enabled, c.kvm_cap_max_vcpus, c.free_vcpus, c.free_key_ids
        FROM host h JOIN host_capacity c ON c.host_id = h.id ORDER BY h.id LIMIT 100`),
      baselineNote: 'one statement over host_capacity (the reasons and what limits the cap are left out: less than the API answers)',
      postgraphile: {
        query: `{ hosts: allHosts(first: 100, orderBy: PRIMARY_KEY_ASC) { edges { node { hostname
        capacity: hostCapacityByHostId { tdxEnabled kvmCapMaxVcpus freeVcpus freeKeyIds tdxDisabledReasons } } } } }`,
        note:
          "host_capacity's columns through a smart-tag relation; no kvmCapMaxVcpusLimitedBy (not in the view: tdplan answers one field more), " +
          "reasons as the view's text array; free vCPUs and KeyIDs compared clamped at 0 (the view has the raw difference, tdplan never negative)",
        comparable: (tdplan, postgraphile) => [
          (tdplan as { hosts: Connection<TdplanCapacity> }).hosts.edges.map(({ node: n }) => ({
            hostname: n.hostname,
            tdxEnabled: n.tdxEnabled,
            kvmCapMaxVcpus: n.kvmCapMaxVcpus,
            freeVcpus: n.freeVcpus,
            freeKeyIds: n.freeKeyIds,
            reasons: n.tdxDisabledReasons.map((r) => r.code),
          })),
          (postgraphile as { hosts: Connection<PostGraphileCapacity> }).hosts.edges.map(({ node: { hostname, capacity: c } }) => ({
            hostname,
            tdxEnabled: c.tdxEnabled,
            kvmCapMaxVcpus: c.kvmCapMaxVcpus,
            freeVcpus: Math.max(0, c.freeVcpus),
            freeKeyIds: Math.max(0, c.freeKeyIds),
            reasons: c.tdxDisabledReasons,
          })),
        ],
      },
    },
    {
      name: 'fleetSummary',
      query:
        '{ fleetSummary { hosts tdxEnabledHosts tdSlots freeVcpus largestPlaceableTdVcpus tdxDisabledByReason { reason hosts } kvmCapDistribution { kvmCapMaxVcpus hosts } byModule { key hosts tdSlots } byPlatform { key hosts } byKernel { key hosts } } }',
      baseline: sql(`SELECT m.version, count(*), count(*) FILTER (WHERE c.tdx_enabled), sum(GREATEST(0, c.free_key_ids)) FILTER (WHERE c.tdx_enabled)
        FROM host_capacity c LEFT JOIN tdx_module m ON m.id = c.module_id
        GROUP BY GROUPING SETS ((), (m.version))`),
      baselineNote: 'one grouped aggregate over host_capacity (totals and per module only: less than the API answers)',
    },
    {
      name: 'placementCandidates (vcpus 16, first 50)',
      query: '{ placementCandidates(vcpus: 16, first: 50) { edges { remainingVcpus node { hostname } } pageInfo { hasNextPage endCursor } } }',
      baseline: sql(`SELECT h.hostname, c.free_vcpus - 16 AS remaining FROM host_capacity c JOIN host h ON h.id = c.host_id
        WHERE c.tdx_enabled AND 16 <= c.kvm_cap_max_vcpus AND c.free_key_ids > 0 AND c.free_vcpus >= 16
        ORDER BY c.free_vcpus, c.free_key_ids DESC, c.host_id LIMIT 51`),
      baselineNote: 'the R5 conditions and the first page, best fit first, in one statement over host_capacity (walks host_best_fit_idx)',
    },
    {
      name: 'placementCandidates (vcpus 16, memoryMiB 65536, first 50)',
      query:
        '{ placementCandidates(vcpus: 16, memoryMiB: 65536, first: 50) { edges { remainingVcpus node { hostname } } pageInfo { hasNextPage endCursor } } }',
      baseline: sql(`SELECT h.hostname, c.free_vcpus - 16 AS remaining FROM host_capacity c JOIN host h ON h.id = c.host_id
        WHERE c.tdx_enabled AND 16 <= c.kvm_cap_max_vcpus AND c.free_key_ids > 0 AND c.free_vcpus >= 16
          AND (c.td_memory_kib IS NULL OR c.allocated_memory_kib + 1028 * 65536 + 4 * (1 + c.tdcs_pages + 16 * c.tdvps_pages) <= c.td_memory_kib)
        ORDER BY c.free_vcpus, c.free_key_ids DESC, c.host_id LIMIT 51`),
      baselineNote: 'R5 with R7 memory (a 64 GiB TD) and the first page, best fit first, in one statement over host_capacity',
    },
    {
      name: 'placementCandidates + totalCount',
      query: '{ placementCandidates(vcpus: 16, first: 50) { totalCount edges { remainingVcpus node { hostname } } } }',
      baseline: sql(`WITH c AS (
          SELECT c.host_id, c.free_vcpus, c.free_key_ids FROM host_capacity c
          WHERE c.tdx_enabled AND 16 <= c.kvm_cap_max_vcpus AND c.free_key_ids > 0 AND c.free_vcpus >= 16)
        SELECT (SELECT count(*) FROM c) AS total, h.hostname, c.free_vcpus - 16 AS remaining FROM c JOIN host h ON h.id = c.host_id
        ORDER BY c.free_vcpus, c.free_key_ids DESC, c.host_id LIMIT 50`),
      baselineNote: 'the total count and the first page in one statement (the count must visit every host)',
    },
    {
      name: 'migrationTargets (first 50)',
      query: `query($n: String!) { td(name: $n) { migrationTargets(first: 50) { edges { node { hostname } } pageInfo { hasNextPage } } } }`,
      variables: { n: td.name },
      baseline: sql(
        `SELECT h.hostname FROM host_capacity c JOIN host h ON h.id = c.host_id JOIN tdx_module m ON m.id = c.module_id
        WHERE c.host_id <> (SELECT $1::int) AND c.tdx_enabled AND (SELECT $2::int) <= c.kvm_cap_max_vcpus AND c.free_key_ids > 0 AND c.free_vcpus >= (SELECT $2::int)
          AND m.min_import_version <= (SELECT $3::int) AND (SELECT $4::int) <= m.max_import_version
        ORDER BY c.free_vcpus, c.free_key_ids DESC, c.host_id LIMIT 51`,
        [td.host_id, td.vcpus, td.max_export_version, td.min_export_version],
      ),
      // The values as sub-selects, as tdplan passes them: as plain parameters PostgreSQL re-planned
      // this statement on every execution (6.6 ms of its CPU per request; src/planning/sql-literals.ts).
      baselineNote: 'R6 and the first page in one statement (the TD and its module looked up beforehand)',
    },
    {
      name: 'migrationTargets + totalCount',
      query: `query($n: String!) { td(name: $n) { migrationTargets(first: 50) { totalCount edges { node { hostname } } } } }`,
      variables: { n: td.name },
      baseline: sql(
        `WITH c AS (
          SELECT c.host_id, c.free_vcpus, c.free_key_ids FROM host_capacity c JOIN tdx_module m ON m.id = c.module_id
          WHERE c.host_id <> (SELECT $1::int) AND c.tdx_enabled AND (SELECT $2::int) <= c.kvm_cap_max_vcpus AND c.free_key_ids > 0 AND c.free_vcpus >= (SELECT $2::int)
            AND m.min_import_version <= (SELECT $3::int) AND (SELECT $4::int) <= m.max_import_version)
        SELECT (SELECT count(*) FROM c) AS total, h.hostname FROM c JOIN host h ON h.id = c.host_id ORDER BY c.free_vcpus, c.free_key_ids DESC, c.host_id LIMIT 50`,
        [td.host_id, td.vcpus, td.max_export_version, td.min_export_version],
      ),
      baselineNote: 'R6, the total count and the first page in one statement',
    },
    {
      name: 'moduleFloor',
      query: `query($v: String!) { moduleFloor(version: $v) { floor boundBy hostPresentCpus { value boundByCount } tdVcpus { value } platformMaxLogicalCpus { value } } }`,
      variables: { v: module.version },
      baseline: sql(
        `SELECT (SELECT max(h.present_cpus) FROM host h JOIN module_platform mp ON mp.module_id = h.module_id AND mp.platform_id = h.platform_id WHERE h.module_id = $1),
          (SELECT max(t.vcpus) FROM td t JOIN host h ON h.id = t.host_id JOIN module_platform mp ON mp.module_id = h.module_id AND mp.platform_id = h.platform_id WHERE h.module_id = $1),
          (SELECT max(p.sockets * p.cores_per_socket * p.threads_per_core) FROM module_platform mp JOIN platform p ON p.id = mp.platform_id WHERE mp.module_id = $1)`,
        [module.id],
      ),
      baselineNote: 'three maxima in one statement (no binding names)',
    },
    {
      name: 'whatIf (2.0 module lowered to 512)',
      query: `{ whatIf(changes: { modules: [{ module: { version: "2.0.02.00.0420" }, maxVcpusPerTd: 512 }] }) {
        hostsLosingTdx { totalCount } hostsWithNewCap { totalCount } tdsNoLongerFitting { totalCount } tdsLeftWithoutMigrationTarget { totalCount } capacityDelta { tdSlots schedulableVcpus } } }`,
      // For this one change: the module's TDX-enabled hosts, whether each loses TDX (R1 under
      // PRESENT_CPUS: 512 < present CPUs) and its cap after (R3), then every count and sum asked.
      baseline: sql(
        `WITH h AS (
          SELECT c.host_id, c.kvm_cap_max_vcpus AS cap_before, GREATEST(0, c.free_key_ids) AS free_key_ids, c.schedulable_vcpus,
            (k.tdx_vcpu_policy = 'PRESENT_CPUS' AND 512 < c.present_cpus) AS loses,
            LEAST(k.kvm_max_vcpus, CASE k.tdx_vcpu_policy WHEN 'PRESENT_CPUS' THEN c.present_cpus ELSE 512 END) AS cap_after
          FROM host_capacity c JOIN kernel k ON k.id = c.kernel_id
          WHERE c.module_id = $1 AND c.tdx_enabled)
        SELECT count(*) FILTER (WHERE loses) AS losing,
          count(*) FILTER (WHERE NOT loses AND cap_after <> cap_before) AS new_cap,
          -coalesce(sum(free_key_ids) FILTER (WHERE loses), 0) AS td_slots_delta,
          -coalesce(sum(schedulable_vcpus) FILTER (WHERE loses), 0) AS schedulable_vcpus_delta,
          (SELECT count(*) FROM h JOIN td t ON t.host_id = h.host_id
            WHERE t.vcpus <= h.cap_before AND (h.loses OR t.vcpus > h.cap_after)) AS broken
        FROM h`,
        [module.id],
      ),
      baselineNote:
        'for this one change, in one statement: hosts losing TDX, hosts with a new cap, TDs no longer fitting, the tdSlots and schedulableVcpus deltas (not the TDs left without a migration target)',
    },
  ];

  const ask = (c: { query: string; variables?: Record<string, unknown> }, url?: string) => gql(c.query, c.variables, url);

  // PostGraphile: started (and installed) only when a case it answers is to run, and checked to
  // answer the same as tdplan before anything is timed.
  if (!pglSkipped && cases.some((c) => c.postgraphile && wanted(c.name))) {
    const started = await postGraphileOrWhyNot(urlFor(NAME));
    if (typeof started === 'string') pglSkipped = started;
    else pgl = started;
  }
  if (pgl) {
    console.log(`PostGraphile ${pgl.version} (Amber preset) on Node ${pgl.node}, ${pgl.url}`);
    for (const c of cases) {
      if (!c.postgraphile || !wanted(c.name)) continue;
      const { query, variables, comparable = (a: unknown, b: unknown) => [a, b] } = c.postgraphile;
      const [ours, theirs] = comparable(await ask(c), await pglGql(query, variables));
      if (!isDeepStrictEqual(ours, theirs)) throw new Error(`PostGraphile's answer to "${c.name}" differs from tdplan's: ${firstDifference(ours, theirs)}`);
    }
    console.log('PostGraphile answers the same rows as tdplan on every compared case');
    // tdplan's own server in a process of its own, on PostGraphile's Node, so that the two are
    // compared like for like: in the bench process, tdplan's server shares its thread with the
    // clients (PostGraphile's does not) and runs on the bench's Node.
    serve = await startTdplanServe(servedNode(), urlFor(NAME));
    console.log(`tdplan serve (own process) on Node ${serve.node}, ${serve.url}`);
    for (const c of cases) {
      if (!c.postgraphile || !wanted(c.name)) continue;
      const [ours, served] = [await ask(c), await ask(c, serve.url)];
      if (!isDeepStrictEqual(ours, served))
        throw new Error(`tdplan serve's answer to "${c.name}" differs from tdplan's in process: ${firstDifference(ours, served, 'tdplan serve')}`);
    }
    console.log('tdplan serve answers the same data as tdplan in process on every compared case');
  } else if (pglSkipped && POSTGRAPHILE !== '0') {
    console.log(`PostGraphile comparison skipped: ${pglSkipped}`);
  }
  // Every case is also measured served: tdplan's own server and the hand-written SQL's, each in a
  // process of its own on the same Node (tdplan serve's answers checked against the in-process ones).
  let sqlServer: ChildServer | null = null;
  if (cases.some((c) => wanted(c.name))) {
    const node = servedNode();
    serve ??= await startTdplanServe(node, urlFor(NAME));
    sqlServer = await startSqlServer(node, urlFor(NAME));
    console.log(`tdplan serve and the SQL server (own processes) on Node ${serve.node}: ${serve.url}, ${sqlServer.url}`);
    for (const c of cases) {
      if (!wanted(c.name) || (pgl && c.postgraphile)) continue;
      const [ours, served] = [await ask(c), await ask(c, serve.url)];
      if (!isDeepStrictEqual(ours, served))
        throw new Error(`tdplan serve's answer to "${c.name}" differs from tdplan's in process: ${firstDifference(ours, served, 'tdplan serve')}`);
    }
  }
  const overHttp = async (url: string, { text, params }: Statement): Promise<unknown> => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text, values: params }) });
    if (response.status !== 200) throw new Error(`the SQL server answered ${response.status}: ${await response.text()}`);
    return response.json();
  };

  const profiler = PROFILE ? await startProfiler() : null;
  const results = [];
  for (const c of cases) {
    if (!wanted(c.name)) continue;
    const statement = c.baseline;
    const contenders: Contender[] = [{ run: () => ask(c) }, { run: () => db.pool.query(statement.text, statement.params) }];
    // Served: tdplan serve (the same query to tdplan's own process) and the SQL over HTTP; then
    // PostGraphile, where it answers the case.
    const own = serve;
    const sqlHttp = sqlServer;
    if (own && sqlHttp) {
      contenders.push({ run: () => ask(c, own.url), serverCpuMs: () => own.cpuMs() });
      contenders.push({ run: () => overHttp(sqlHttp.url, statement), serverCpuMs: () => sqlHttp.cpuMs() });
    }
    const viaPgl = pgl && own && sqlHttp && c.postgraphile;
    if (viaPgl) contenders.push({ run: () => pglGql(viaPgl.query, viaPgl.variables), serverCpuMs: () => pgl!.cpuMs() });
    const [g, b, s, h, p] = (await measureSideBySide(contenders)) as [Measure, Measure, Measure | undefined, Measure | undefined, Measure | undefined];
    await ask(c);
    const roundTrips = lastRoundTrips;
    const tdplanServe = s ? { ...s, node: own!.node } : undefined;
    // The like-for-like reading of "within 2x of the hand-written SQL": tdplan serve against the
    // same statement served over HTTP, both processes of their own on the same Node.
    const sqlOverHttp =
      s && h
        ? {
            ...h,
            medianRatio: s.medianMs / h.medianMs,
            throughputRatio: s.throughputPerS / h.throughputPerS,
            cpuRatio: s.cpuMsPerRequest / h.cpuMsPerRequest,
          }
        : undefined;
    // The ratios to PostGraphile: tdplan serve's (both in a process of their own, on the same Node);
    // those of the in-process server, as the bench gave them before, under inProcess* names.
    const postgraphile =
      viaPgl && s && p
        ? {
            ...p,
            note: viaPgl.note,
            medianRatio: s.medianMs / p.medianMs,
            throughputRatio: s.throughputPerS / p.throughputPerS,
            cpuRatio: s.cpuMsPerRequest / p.cpuMsPerRequest,
            ...(s.postgresCpuMsPerRequest !== undefined && p.postgresCpuMsPerRequest !== undefined
              ? { postgresCpuRatio: s.postgresCpuMsPerRequest / p.postgresCpuMsPerRequest }
              : {}),
            inProcessMedianRatio: g.medianMs / p.medianMs,
            inProcessThroughputRatio: g.throughputPerS / p.throughputPerS,
            inProcessCpuRatio: g.cpuMsPerRequest / p.cpuMsPerRequest,
          }
        : undefined;
    const row = {
      query: c.name,
      graphql: g,
      baseline: b,
      baselineNote: c.baselineNote,
      sqlRoundTrips: roundTrips,
      medianRatio: g.medianMs / b.medianMs,
      ...(tdplanServe ? { tdplanServe } : {}),
      ...(sqlOverHttp ? { sqlOverHttp } : {}),
      ...(postgraphile ? { postgraphile } : {}),
    };
    results.push(row);
    console.log(
      `${c.name.padEnd(52)} median ${g.medianMs.toFixed(1).padStart(7)} ms  p95 ${g.p95Ms.toFixed(1).padStart(7)} ms  ${g.throughputPerS.toFixed(1).padStart(6)} req/s  ` +
        `${g.cpuMsPerRequest.toFixed(2).padStart(6)} CPU ms/req${postgresPart(g)}  ${String(roundTrips).padStart(2)} round trips | baseline median ${b.medianMs.toFixed(1).padStart(7)} ms | ratio ${row.medianRatio.toFixed(2)}x`,
    );
    if (tdplanServe) {
      console.log(
        `${`  tdplan serve, own process (Node ${tdplanServe.node})`.padEnd(52)} median ${tdplanServe.medianMs.toFixed(1).padStart(7)} ms  p95 ${tdplanServe.p95Ms.toFixed(1).padStart(7)} ms  ` +
          `${tdplanServe.throughputPerS.toFixed(1).padStart(6)} req/s  ${tdplanServe.cpuMsPerRequest.toFixed(2).padStart(6)} CPU ms/req ` +
          `(${(tdplanServe.cpuMsPerRequest - (tdplanServe.serverProcessCpuMsPerRequest ?? NaN)).toFixed(2)} of it the clients')${postgresPart(tdplanServe)}`,
      );
    }
    if (sqlOverHttp) {
      console.log(
        `${'  the SQL baseline over HTTP, own process'.padEnd(52)} median ${sqlOverHttp.medianMs.toFixed(1).padStart(7)} ms  p95 ${sqlOverHttp.p95Ms.toFixed(1).padStart(7)} ms  ` +
          `${sqlOverHttp.throughputPerS.toFixed(1).padStart(6)} req/s  ${sqlOverHttp.cpuMsPerRequest.toFixed(2).padStart(6)} CPU ms/req ` +
          `(${(sqlOverHttp.cpuMsPerRequest - (sqlOverHttp.serverProcessCpuMsPerRequest ?? NaN)).toFixed(2)} of it the clients')${postgresPart(sqlOverHttp)} | tdplan serve / it: ` +
          `median ${sqlOverHttp.medianRatio.toFixed(2)}x, req/s ${sqlOverHttp.throughputRatio.toFixed(2)}x, CPU ${sqlOverHttp.cpuRatio.toFixed(2)}x`,
      );
    }
    if (postgraphile) {
      console.log(
        `${'  PostGraphile, same question'.padEnd(52)} median ${postgraphile.medianMs.toFixed(1).padStart(7)} ms  p95 ${postgraphile.p95Ms.toFixed(1).padStart(7)} ms  ` +
          `${postgraphile.throughputPerS.toFixed(1).padStart(6)} req/s  ${postgraphile.cpuMsPerRequest.toFixed(2).padStart(6)} CPU ms/req ` +
          `(${(postgraphile.cpuMsPerRequest - (postgraphile.serverProcessCpuMsPerRequest ?? NaN)).toFixed(2)} of it the clients')${postgresPart(postgraphile)} | tdplan serve / PostGraphile: ` +
          `median ${postgraphile.medianRatio.toFixed(2)}x, req/s ${postgraphile.throughputRatio.toFixed(2)}x, CPU ${postgraphile.cpuRatio.toFixed(2)}x` +
          (postgraphile.postgresCpuRatio === undefined ? '' : `, PostgreSQL CPU ${postgraphile.postgresCpuRatio.toFixed(2)}x`),
      );
    }
  }
  // The planning UI's screens: the operations it sends, with the variables it sends them with.
  const UI_TARGET_MS = 300;
  const hostsPage = (variables: Record<string, unknown>) =>
    gql(print(HostsQuery), { filter: null, orderBy: null, after: null, last: null, before: null, first: 50, ...variables });
  const firstHostsPage = (await hostsPage({})) as { hosts: { pageInfo: { endCursor: string } } };
  const screens: { name: string; run: () => Promise<unknown> }[] = [
    { name: 'Fleet screen (fleetSummary and its groups)', run: () => gql(print(FleetQuery)) },
    // The Hosts screen asks for its filter choices and the first page at once.
    { name: 'Hosts screen, first page + filter choices', run: () => Promise.all([hostsPage({}), gql(print(HostFilterChoicesQuery))]) },
    { name: 'Hosts screen, next page', run: () => hostsPage({ after: firstHostsPage.hosts.pageInfo.endCursor }) },
    {
      name: 'Hosts screen, TDX off, by present CPUs desc',
      run: () => hostsPage({ filter: { tdxEnabled: false }, orderBy: { field: 'PRESENT_CPUS', direction: 'DESC' } }),
    },
    {
      name: 'Hosts screen, cap >= 512, by hostname',
      run: () => hostsPage({ filter: { minKvmCapMaxVcpus: 512 }, orderBy: { field: 'HOSTNAME', direction: 'ASC' } }),
    },
    {
      name: 'Hosts screen, one reason, by allocated vCPUs',
      run: () => hostsPage({ filter: { tdxDisabledReason: 'MAX_VCPUS_PER_TD_BELOW_PRESENT_CPUS' }, orderBy: { field: 'ALLOCATED_VCPUS', direction: 'DESC' } }),
    },
  ];
  const uiScreens = [];
  for (const screen of screens) {
    if (!wanted(screen.name)) continue;
    const m = await measure(screen.run);
    uiScreens.push({ screen: screen.name, ...m, targetMs: UI_TARGET_MS, met: m.medianMs < UI_TARGET_MS });
    console.log(
      `UI: ${screen.name.padEnd(48)} median ${m.medianMs.toFixed(1).padStart(7)} ms  p95 ${m.p95Ms.toFixed(1).padStart(7)} ms  ${m.throughputPerS.toFixed(1).padStart(6)} req/s  ` +
        `target ${UI_TARGET_MS} ms: ${m.medianMs < UI_TARGET_MS ? 'met' : 'MISSED'}`,
    );
  }

  if (profiler) {
    await profiler.stop(PROFILE!);
    console.log(`wrote the CPU profile of the measuring phase to ${PROFILE}`);
  }

  // Round trips must not depend on the page size.
  const tripsByPage: Record<string, number> = {};
  for (const first of [1, 10, 100]) {
    await gql(
      `query($n: Int!) { hosts(first: $n) { edges { node { hostname platform { name } module { version } kernel { name } tds(first: 5) { totalCount edges { node { name } } } } } } }`,
      { n: first },
    );
    tripsByPage[first] = lastRoundTrips;
  }
  console.log(`round trips for a hosts page of 1, 10, 100: ${Object.values(tripsByPage).join(', ')}`);

  await serve?.close();
  await sqlServer?.close();
  await pgl?.close();
  await server.close();
  await db.close();
  const out = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    fleet: { hosts: HOSTS, tds: TDS, seed: 42 },
    settings: { runs: RUNS, concurrency: CONCURRENCY },
    import: { seconds: importS, rowsPerSecond: (HOSTS + TDS) / importS, generateSeconds: generateS },
    queries: results,
    uiScreens,
    roundTripsByHostsPageSize: tripsByPage,
    postgraphile: pgl ? { version: pgl.version, preset: 'amber', node: pgl.node } : { skipped: pglSkipped },
    // tdplan's own server in a process of its own, run whenever a case runs (the served measures).
    tdplanServe: serve
      ? {
          node: serve.node,
          command: 'bin/tdplan.js serve --host 127.0.0.1 --port <free port>',
          env: { NODE_ENV: 'production', TDPLAN_TOKEN_MAX_CONCURRENT: '0', TDPLAN_TOKEN_MAX_RPS: '0', LOG_LEVEL: 'warn' },
        }
      : { skipped: 'no case ran' },
    // The SQL baselines served over HTTP by bench/sql-server.mjs, beside tdplan serve.
    sqlServer: sqlServer ? { node: sqlServer.node, script: 'bench/sql-server.mjs' } : { skipped: 'no case ran' },
  };
  const resultsFile = RESULTS ?? fileURLToPath(new URL('./results/latest.json', import.meta.url));
  await mkdir(path.dirname(resultsFile), { recursive: true });
  await writeFile(resultsFile, `${JSON.stringify(out, null, 2)}\n`);
  const shown = path.relative(process.cwd(), resultsFile);
  console.log(`wrote ${shown.startsWith('..') ? resultsFile : shown}`);
  process.exit(0); // the schema engine leaves timers behind (see src/cli.ts)
}

main().catch((err: unknown) => {
  console.error(`bench: ${(err as Error).message}`);
  process.exit(1);
});
