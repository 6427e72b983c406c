// Recognises, among the errors pg, the Prisma adapter and Prisma raise, the two that are not the
// request's fault and not a bug: "the database is not there" (DATABASE_UNAVAILABLE, HTTP 503) and
// "the request ran out of time" (a statement timeout, or waiting for a pooled connection longer than
// the request's deadline: DEADLINE_EXCEEDED, HTTP 503). A busy pool is not an outage.
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  // PostgreSQL: admin shutdown (also pg_terminate_backend), crash shutdown, cannot connect now
  // (starting up or shutting down), connection exceptions
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  // Prisma: cannot reach the server, server closed the connection
  'P1001',
  'P1017',
]);
const CONNECTION_MESSAGES =
  /Connection terminated|connect ECONNREFUSED|Client has encountered a connection error|Connection closed|server closed the connection|Cannot use a pool after calling end/i;

const TIMEOUT_CODES = new Set([
  // PostgreSQL query_canceled: statement_timeout
  '57014',
  // Prisma: timed out fetching a connection from the pool; a transaction's maxWait or timeout
  'P2024',
  'P2028',
]);
// pg-pool says this when a pooled connection was not free within its wait (connecting itself has a
// shorter timeout of its own: src/db/client.ts).
const TIMEOUT_MESSAGES = /timeout exceeded when trying to connect|Unable to start a transaction in the given time/i;

export type DatabaseTrouble = { kind: 'unavailable' | 'timeout'; reason: string };

// The errors a failure passes through: pg's, wrapped by the Prisma adapter (DriverAdapterError,
// its cause), wrapped by Prisma (P2010 for raw SQL, P2039 for model queries, the adapter error in
// meta.driverAdapterError), wrapped by GraphQL (originalError).
function* chain(error: unknown): Generator<{ code?: unknown; message?: unknown }> {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length) {
    const current = pending.shift();
    if (!current || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    const e = current as { code?: unknown; message?: unknown; cause?: unknown; originalError?: unknown; meta?: { driverAdapterError?: unknown } };
    yield e;
    pending.push(e.originalError, e.cause, e.meta?.driverAdapterError);
  }
}

function reasonOf(e: { code?: unknown; message?: unknown }): string {
  return typeof e.message === 'string' && e.message ? e.message.split('\n')[0]! : String(e.code);
}

/** What kept `error`'s request from the database, if that is what failed; null for anything else. */
export function databaseTrouble(error: unknown): DatabaseTrouble | null {
  const links = [...chain(error)];
  for (const e of links) {
    if ((typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) || (typeof e.message === 'string' && CONNECTION_MESSAGES.test(e.message))) {
      return { kind: 'unavailable', reason: reasonOf(e) };
    }
  }
  for (const e of links) {
    if ((typeof e.code === 'string' && TIMEOUT_CODES.has(e.code)) || (typeof e.message === 'string' && TIMEOUT_MESSAGES.test(e.message))) {
      return { kind: 'timeout', reason: reasonOf(e) };
    }
  }
  return null;
}

/** The connection failure behind `error`, or null when it is something else. */
export function databaseUnavailableReason(error: unknown): string | null {
  const trouble = databaseTrouble(error);
  return trouble?.kind === 'unavailable' ? trouble.reason : null;
}
