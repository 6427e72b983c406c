// One connection pool per process, shared by Prisma (through @prisma/adapter-pg) and by the few
// hand-written SQL paths (bulk load, capacity filters). Every SQL round trip is counted, per
// GraphQL request through AsyncLocalStorage, so tests and benchmarks can prove there is no N+1.
import { AsyncLocalStorage } from 'node:async_hooks';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { StatementNames } from './prepared-statements.js';

export { PrismaClient };
export type { Prisma } from '../generated/prisma/client.js';

/** Round trips made while serving one unit of work (a GraphQL request, a CLI command). */
export class SqlRoundTrips {
  count = 0;
}

const currentRoundTrips = new AsyncLocalStorage<SqlRoundTrips>();

/** Runs `fn` and counts the SQL round trips it makes, even through Prisma. */
export function countingSqlRoundTrips<T>(counter: SqlRoundTrips, fn: () => T): T {
  return currentRoundTrips.run(counter, fn);
}

function recordRoundTrip(): void {
  const counter = currentRoundTrips.getStore();
  if (counter) counter.count += 1;
}

type QueryFn = (...args: unknown[]) => unknown;

// The count is taken when a query is issued, in the caller's async context (pg's callbacks would
// lose it). Two doors lead to the server: pool.query, and query on a client checked out with
// pool.connect() (Prisma's transactions). pool.query itself checks out a client with a callback,
// so callback-style connect() is left alone and nothing is counted twice.
//
// With `names`, pool.query(text, values) runs as a named statement (src/db/prepared-statements.ts):
// the hand-written reads all come that way. Text without values may hold several statements, which
// a named statement cannot, so it stays unnamed.
function instrumentPool(pool: pg.Pool, names: StatementNames | null): pg.Pool {
  const poolQuery = pool.query.bind(pool) as QueryFn;
  const poolConnect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  Object.assign(pool, {
    query: (...args: unknown[]) => {
      recordRoundTrip();
      const [text, values, ...rest] = args;
      if (names && typeof text === 'string' && Array.isArray(values)) {
        return poolQuery({ text, values, name: names.nameFor(text) }, ...rest);
      }
      return poolQuery(...args);
    },
    connect: (...args: unknown[]) => {
      if (args.length > 0) return poolConnect(...args);
      return (poolConnect() as Promise<pg.PoolClient>).then(countingClient);
    },
  });
  return pool;
}

function countingClient(client: pg.PoolClient): pg.PoolClient {
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'query') {
        return (...args: unknown[]) => {
          recordRoundTrip();
          return (target.query as QueryFn)(...args);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as QueryFn).bind(target) : value;
    },
  });
}

export interface Database {
  prisma: PrismaClient;
  /** The same pool Prisma uses, for hand-written SQL. */
  pool: pg.Pool;
  url: string;
  /** Resolves when the database answers within `timeoutMs`, however busy the pool is. */
  ping(timeoutMs: number): Promise<void>;
  /**
   * Streaming replicas for reads (DATABASE_REPLICA_URLS), when there are any. `prisma` and `pool`
   * above are always the primary; the server asks `replicas.forRead` for each read-only request.
   */
  replicas?: ReadReplicas;
  /** The embedded PGlite (see ConnectOptions.embedded). */
  embedded: boolean;
  close(): Promise<void>;
}

export type ReplicaHealth = 'streaming' | 'lagging' | 'down' | 'unknown';

/** What /readyz says about one replica. */
export interface ReplicaStatus {
  /** The replica's URL without password. */
  url: string;
  state: ReplicaHealth;
  /** How far behind the primary it is, in milliseconds (null while down or not yet measured). */
  lagMs: number | null;
  /** The last WAL position it has replayed. */
  replayLsn: string | null;
  /** Why it is down. */
  reason?: string;
}

/** Streaming replicas to read from instead of the primary: ReplicaSet (src/db/replicas.ts). */
export interface ReadReplicas {
  /** The database for a read by `session`, which must have replayed `minLsn` and the session's last write. */
  forRead(session: string | null, minLsn?: bigint | null): Database;
  /** Records that `session` just committed a write; returns the WAL position that covers it (null: unknown). */
  noteWrite(session: string): Promise<bigint | null>;
  /** Each replica's state, for /readyz. */
  status(): ReplicaStatus[];
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Pool size; PostgreSQL's default max_connections is 100, keep well under it. */
  max?: number;
  /**
   * How long a query may wait for a pooled connection when all are busy (default 30 s). Waiting is
   * not an outage: when this passes, the error is a timeout, not DATABASE_UNAVAILABLE.
   */
  acquireTimeoutMs?: number;
  /** PostgreSQL's statement_timeout for every pooled connection (default: none). */
  statementTimeoutMs?: number;
  /** The embedded PGlite: one session behind the socket, so no LISTEN/NOTIFY between connections. */
  embedded?: boolean;
  /** Named statements (default true, never on the embedded PGlite; DATABASE_PREPARED_STATEMENTS=off): src/db/prepared-statements.ts. */
  preparedStatements?: boolean | undefined;
}

/** Connecting to the database (not waiting for a busy pool) gives up after this: then it is away. */
export const CONNECT_TIMEOUT_MS = 3_000;
export const DEFAULT_ACQUIRE_TIMEOUT_MS = 30_000;

// pg-pool hands its own options to each client, so its connectionTimeoutMillis would bound both
// waiting for a free connection and opening one. A client of this class opens within 3 s whatever
// the pool waits: a database that does not answer is told apart from a pool that is busy.
//
// It also turns PostgreSQL's JIT off before the pool hands the connection out (`jitOff` in the
// pool's options, which pg-pool passes to each client). JIT compiles any statement whose estimated
// cost passes jit_above_cost; for the capacity view's expressions compiling cost more than it
// saved: 160 to 360 ms of a 100,000-host fleetSummary (bench/README.md). PGlite has no JIT.
interface TdplanClientConfig extends pg.ClientConfig {
  jitOff?: boolean;
}

class FastConnectingClient extends pg.Client {
  private readonly jitOff: boolean;

  constructor(config?: string | TdplanClientConfig) {
    const base: TdplanClientConfig = typeof config === 'string' ? { connectionString: config } : { ...config };
    super({ ...base, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    this.jitOff = base.jitOff === true;
  }

  override connect(): Promise<pg.Client>;
  override connect(callback: ((err: Error) => void) | ((err: null, client: pg.Client) => void)): void;
  override connect(callback?: ((err: Error) => void) | ((err: null, client: pg.Client) => void)): Promise<pg.Client> | void {
    const connected = super.connect().then(async (client) => {
      // A failure here is not the connection's: the server still serves it, JIT on.
      if (this.jitOff) await this.query('SET jit = off').catch(() => undefined);
      return client;
    });
    if (!callback) return connected;
    const done = callback as (err: Error | null, client?: pg.Client) => void;
    connected.then(
      (client) => done(null, client),
      (err: Error) => done(err),
    );
  }
}

/**
 * Pool size for the embedded PGlite: one. pglite-socket 0.2.17 queues each wire-protocol message,
 * not each Parse..Sync batch, so two connections' extended-protocol queries can interleave and
 * clobber each other's unnamed prepared statement (seen under concurrent placements). PGlite runs
 * one query at a time anyway, so a single connection costs no throughput.
 */
export const EMBEDDED_POOL_SIZE = 1;

export function connectDatabase(url: string, options: ConnectOptions = {}): Database {
  const max = options.max ?? 10;
  // Not on the embedded PGlite: pglite-socket gives every connection the one session PGlite has, so
  // two pools (migrations, tests) would prepare the same name twice in it.
  const names = options.preparedStatements === false || options.embedded ? null : new StatementNames();
  const pool = instrumentPool(
    new pg.Pool({
      connectionString: url,
      max,
      Client: FastConnectingClient as unknown as new () => pg.ClientBase,
      ...({ jitOff: !options.embedded } as object),
      connectionTimeoutMillis: options.acquireTimeoutMs ?? DEFAULT_ACQUIRE_TIMEOUT_MS,
      ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    }),
    names,
  );
  // An idle client losing its connection (database restarted) must not crash the process; nor may
  // a checked-out one (its query fails, and that failure is what the caller sees).
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  // Writers queue for a pooled connection under load (and on the embedded database there is only
  // one): wait for it rather than fail after Prisma's default 2 s.
  const adapter = new PrismaPg(pool, names ? { statementNameGenerator: ({ sql }) => names.nameFor(sql) } : {});
  const prisma = new PrismaClient({ adapter, transactionOptions: { maxWait: 15_000, timeout: 30_000 } });
  return {
    prisma,
    pool,
    url,
    embedded: options.embedded ?? false,
    async ping(timeoutMs) {
      const busy = pool.idleCount === 0 && pool.totalCount >= max;
      if (!busy) return withTimeout(pool.query('SELECT 1'), timeoutMs);
      // Every pooled connection is at work: asking the pool would queue behind them and measure
      // load, not the database. Ask on a connection of its own, except on a single-connection
      // pool (the embedded PGlite, one session in this process: a second connection could
      // interleave its messages, see EMBEDDED_POOL_SIZE), where a busy connection is a live one.
      if (max === 1) return;
      const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
      probe.on('error', () => undefined);
      try {
        await withTimeout(
          probe.connect().then(() => probe.query('SELECT 1')),
          timeoutMs,
        );
      } finally {
        void probe.end().catch(() => undefined);
      }
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

async function withTimeout(work: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
