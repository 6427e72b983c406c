// Recognises "the database is not there" among the errors pg, the Prisma adapter and Prisma raise,
// so clients get one clear, typed answer (DATABASE_UNAVAILABLE, HTTP 503) instead of a masked error.
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  // PostgreSQL: admin shutdown, crash shutdown, cannot connect now, connection exceptions
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  // Prisma: cannot reach the server, server closed the connection, pool timeout
  'P1001',
  'P1017',
  'P2024',
]);
const CONNECTION_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|connect ECONNREFUSED|Client has encountered a connection error|Connection closed|server closed the connection|Unable to start a transaction in the given time|Cannot use a pool after calling end/i;

/** The connection failure behind `error` (following causes), or null when it is something else. */
export function databaseUnavailableReason(error: unknown): string | null {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === 'object' && !seen.has(current)) {
    seen.add(current);
    const e = current as { code?: unknown; message?: unknown; cause?: unknown; originalError?: unknown; kind?: unknown };
    if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) return typeof e.message === 'string' && e.message ? e.message : e.code;
    if (typeof e.message === 'string' && CONNECTION_MESSAGES.test(e.message)) return e.message.split('\n')[0]!;
    current = e.originalError ?? e.cause;
  }
  return null;
}
