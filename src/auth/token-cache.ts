// Authentication without a database round trip per request, and without a cache lifetime in
// which a revoked token still works. Each token's principal is cached by its hash only while this
// process LISTENs on "tdplan_api_token", where a trigger announces every change to a token at
// commit (migration api_token_notify). A notification drops that token's entry, so a revoke on any
// instance takes effect on every instance as soon as PostgreSQL delivers it: sent at commit, so the
// window is that delivery, never a cache lifetime.
//
// Safety first: the cache is used only after a probe NOTIFY sent through the pool came back on
// the listening connection (so a pooler that breaks LISTEN, or the embedded PGlite socket, leaves
// it off); if the listening connection drops, the cache is emptied and off until it listens
// again. Off means every request looks its token up, as before. Unknown tokens are never cached.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Database } from '../db/client.js';
import type { Logger } from '../ops/logger.js';
import { authenticate, hashToken, isTokenShaped, principalOfRow, type Principal } from './tokens.js';

export const TOKEN_CHANNEL = 'tdplan_api_token';
const PROBE_TIMEOUT_MS = 2_000;
const RECONNECT_MS = 1_000;
const MAX_RECONNECT_MS = 30_000;
/** Tokens are few; a bound keeps a flood of distinct valid tokens from growing memory. */
const MAX_ENTRIES = 10_000;

export type TokenCacheState = 'off' | 'starting' | 'listening';

export class TokenCache {
  private readonly entries = new Map<string, Principal>();
  private listener: pg.Client | null = null;
  private listening = false;
  /** Bumped by every notification and every loss of the listener: a lookup that started before may not be cached. */
  private epoch = 0;
  private probe: { payload: string; received: () => void } | null = null;
  private stopped = true;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private warned = false;
  private retryMs = RECONNECT_MS;

  constructor(
    private readonly db: Database,
    private readonly logger?: Logger,
  ) {}

  get state(): TokenCacheState {
    return this.listening ? 'listening' : this.stopped ? 'off' : 'starting';
  }

  /** Starts listening; resolves once the cache is on, or off after a failed start (it retries). */
  async start(): Promise<void> {
    if (this.db.embedded) {
      this.logger?.debug('token cache off: the embedded database has no notifications between connections');
      return;
    }
    this.stopped = false;
    await this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.db.url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
    this.listener = client;
    const lost = (reason: string): void => {
      if (this.listener !== client) return;
      this.goOff(reason);
      this.listener = null;
      client.end().catch(() => undefined);
      if (!this.stopped) {
        this.reconnectTimer = setTimeout(() => void this.connect(), this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, MAX_RECONNECT_MS);
        this.reconnectTimer.unref();
      }
    };
    client.on('error', (err) => lost(err.message));
    client.on('end', () => lost('connection ended'));
    client.on('notification', (message) => {
      if (message.channel !== TOKEN_CHANNEL) return;
      const payload = message.payload ?? '';
      if (this.probe && payload === this.probe.payload) return this.probe.received();
      this.epoch += 1;
      if (payload === '') this.entries.clear();
      else this.entries.delete(payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${TOKEN_CHANNEL}`);
      // Prove delivery end to end before trusting the cache.
      const payload = `probe:${randomUUID()}`;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no notification came back within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
        this.probe = {
          payload,
          received: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        this.db.pool.query('SELECT pg_notify($1, $2)', [TOKEN_CHANNEL, payload]).catch((err: Error) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      this.probe = null;
      if (this.listener !== client) return;
      this.entries.clear();
      this.epoch += 1;
      this.listening = true;
      this.warned = false;
      this.retryMs = RECONNECT_MS;
      this.logger?.debug('token cache on: listening for token changes');
    } catch (err) {
      this.probe = null;
      if (!this.warned) this.logger?.warn({ reason: (err as Error).message }, 'token cache off: every request looks its token up');
      this.warned = true;
      lost((err as Error).message);
    }
  }

  private goOff(reason: string): void {
    if (this.listening && !this.stopped) this.logger?.warn({ reason }, 'token cache off until the listener reconnects');
    this.listening = false;
    this.epoch += 1;
    this.entries.clear();
  }

  /** The principal of `token`, or null for an unknown or revoked one. */
  async authenticate(token: string): Promise<Principal | null> {
    if (!this.listening) return authenticate(this.db.prisma, token);
    if (!isTokenShaped(token)) return null;
    const hash = hashToken(token);
    const cached = this.entries.get(hash);
    if (cached) return cached;
    const epoch = this.epoch;
    const row = await this.db.prisma.apiToken.findUnique({ where: { tokenHash: hash }, select: { name: true, role: true, revokedAt: true } });
    const principal = principalOfRow(row);
    // A notification (or a lost listener) since the lookup began may concern this very token.
    if (principal && this.listening && epoch === this.epoch) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
      this.entries.set(hash, principal);
    }
    return principal;
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.listener;
    this.listener = null;
    this.goOff('closed');
    await client?.end().catch(() => undefined);
  }
}
