// Read replicas (DATABASE_REPLICA_URLS): reads go to a streaming replica, writes and everything
// inside a write's transaction to the primary. Routing is decided here, per request, and the
// server hands resolvers the chosen Database: no resolver knows replicas exist.
//
// Freshness is measured, not assumed. A poller samples the primary's WAL position and each
// replica's replay position every `pollMs`:
//  - a replica that does not answer, or is not in recovery (promoted, or a wrong URL), is down;
//  - a replica's lag is how long ago the primary was last at a position the replica has not
//    replayed yet; beyond `maxLagMs` the replica is lagging and skipped;
//  - read-your-writes: after a session (a token) writes, its commit position is recorded, and
//    until a replica is known to have replayed it, that session's reads go to the primary. The
//    position is also returned to the client (header `tdplan-write-lsn`), so a client talking to
//    several tdplan instances can send it back as `tdplan-min-lsn` to any of them.
import { connectDatabase, type ConnectOptions, type Database, type ReadReplicas, type ReplicaStatus } from './client.js';

export type { ReplicaHealth, ReplicaStatus } from './client.js';
import { redactUrl } from './redact.js';

/** A WAL position (`pg_lsn`, "X/Y" in hex) as a number that compares. */
export function parseLsn(text: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!m) throw new Error(`not a WAL position (pg_lsn): ${JSON.stringify(text)}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export interface ReplicaOptions extends ConnectOptions {
  /** A replica further behind than this is skipped (default 5 s). */
  maxLagMs?: number;
  /** How often positions are sampled (default 200 ms). */
  pollMs?: number;
}

interface Replica {
  db: Database;
  status: ReplicaStatus;
  replay: bigint | null;
}

interface Sample {
  at: number;
  lsn: bigint;
}

const POLL_TIMEOUT_MS = 1_000;
/** Beyond any real WAL position: pins a session to the primary. */
const UNREACHABLE_LSN = 0xffffffffffffffffn;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export class ReplicaSet implements ReadReplicas {
  readonly maxLagMs: number;
  readonly pollMs: number;
  private readonly replicas: Replica[];
  /** The primary's WAL position over the last `maxLagMs` (and a little more), oldest first. */
  private samples: Sample[] = [];
  /** Sessions that wrote recently: the position their reads must see. */
  private readonly sessions = new Map<string, { lsn: bigint; until: number }>();
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly primary: Database,
    urls: readonly string[],
    options: ReplicaOptions = {},
  ) {
    this.maxLagMs = options.maxLagMs ?? 5_000;
    this.pollMs = options.pollMs ?? 200;
    this.replicas = urls.map((url) => ({
      // A replica that is gone fails to connect within CONNECT_TIMEOUT_MS and the next poll marks it
      // down, so reads go to the primary; a busy replica pool is waited for, like the primary's.
      db: connectDatabase(url, { max: options.max ?? 10, preparedStatements: options.preparedStatements }),
      status: { url: redactUrl(url), state: 'unknown', lagMs: null, replayLsn: null },
      replay: null,
    }));
  }

  /** Samples once, then keeps sampling every `pollMs` until closed. */
  async start(): Promise<void> {
    await this.poll();
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.polling = this.poll().finally(() => this.schedule());
    }, this.pollMs);
    this.timer.unref();
  }

  /** Samples the primary's position and each replica's replay position; updates their states. */
  async poll(): Promise<void> {
    const now = Date.now();
    try {
      const { rows } = await withTimeout(this.primary.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'), POLL_TIMEOUT_MS);
      const lsn = parseLsn(rows[0]!.lsn);
      const last = this.samples.at(-1);
      if (!last || last.lsn !== lsn) this.samples.push({ at: now, lsn });
    } catch {
      // The primary is unreachable: requests will say so; replicas keep their last measure.
    }
    const keepFrom = now - this.maxLagMs - 10 * this.pollMs;
    // Keep the newest sample older than the window: it dates positions that have not moved since.
    while (this.samples.length > 1 && this.samples[1]!.at < keepFrom) this.samples.shift();
    await Promise.all(this.replicas.map((replica) => this.pollReplica(replica, now)));
    for (const [session, entry] of this.sessions) {
      if (entry.until < now || this.replicas.every((r) => r.status.state !== 'streaming' || (r.replay !== null && r.replay >= entry.lsn))) {
        this.sessions.delete(session);
      }
    }
  }

  private async pollReplica(replica: Replica, now: number): Promise<void> {
    try {
      const { rows } = await withTimeout(
        replica.db.pool.query<{ recovery: boolean; replay: string | null }>('SELECT pg_is_in_recovery() AS recovery, pg_last_wal_replay_lsn()::text AS replay'),
        POLL_TIMEOUT_MS,
      );
      const row = rows[0]!;
      if (!row.recovery || row.replay === null) {
        this.markDown(replica, 'not a streaming replica (not in recovery)');
        return;
      }
      const replay = parseLsn(row.replay);
      replica.replay = replay;
      // Lag: since when has the primary been past what this replica replayed?
      const firstAhead = this.samples.find((s) => s.lsn > replay);
      const lagMs = firstAhead ? Math.max(0, now - firstAhead.at) : 0;
      replica.status = {
        url: replica.status.url,
        state: lagMs > this.maxLagMs ? 'lagging' : 'streaming',
        lagMs,
        replayLsn: formatLsn(replay),
      };
    } catch (err) {
      this.markDown(replica, (err as Error).message);
    }
  }

  private markDown(replica: Replica, reason: string): void {
    replica.replay = null;
    replica.status = { url: replica.status.url, state: 'down', lagMs: null, replayLsn: null, reason };
  }

  /**
   * The database for a read by `session`: a streaming replica within the lag bound that has
   * replayed the session's last write (and `minLsn`, a position the client brings), round robin;
   * the primary when there is none.
   */
  forRead(session: string | null, minLsn: bigint | null = null): Database {
    let needed = minLsn ?? 0n;
    const wrote = session === null ? undefined : this.sessions.get(session);
    if (wrote && wrote.until >= Date.now() && wrote.lsn > needed) needed = wrote.lsn;
    const n = this.replicas.length;
    for (let i = 0; i < n; i++) {
      const replica = this.replicas[(this.next + i) % n]!;
      if (replica.status.state === 'streaming' && replica.replay !== null && replica.replay >= needed) {
        this.next = (this.next + i + 1) % n;
        return replica.db;
      }
    }
    return this.primary;
  }

  /**
   * Records that `session` has just committed a write: returns the primary's WAL position, which
   * covers the commit, and sends the session's reads to the primary until a replica has it.
   */
  async noteWrite(session: string): Promise<bigint | null> {
    let lsn: bigint | null = null;
    try {
      const { rows } = await this.primary.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      lsn = parseLsn(rows[0]!.lsn);
    } catch {
      // Position unknown: pin the session to the primary for the whole window instead.
    }
    const needed = lsn ?? UNREACHABLE_LSN;
    // A replica that has not replayed it within the lag bound is skipped anyway, so the entry
    // need not outlive the bound (plus the polls that notice).
    const previous = this.sessions.get(session);
    this.sessions.set(session, { lsn: previous && previous.lsn > needed ? previous.lsn : needed, until: Date.now() + this.maxLagMs + 3 * this.pollMs });
    return lsn;
  }

  /** Each replica's state, for /readyz and metrics. */
  status(): ReplicaStatus[] {
    return this.replicas.map((r) => ({ ...r.status }));
  }

  /** Every replica's Database (tests check which one served a read). */
  databases(): Database[] {
    return this.replicas.map((r) => r.db);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.polling?.catch(() => undefined);
    await Promise.all(this.replicas.map((r) => r.db.close()));
  }
}

/** The replica URLs of DATABASE_REPLICA_URLS (comma-separated; blanks ignored). */
export function replicaUrlsFrom(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
