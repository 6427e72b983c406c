// `tdplan serve`'s limits from the environment: each variable, its default and its check in one
// place (the README's operations section lists them with what exceeding each returns).
import { CliError } from '../cli-error.js';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_REQUEST_TIMEOUT_MS, type ServerOptions } from '../server.js';

type Env = Record<string, string | undefined>;

function wholeNumber(env: Env, name: string, fallback: number, min: number, unit: string): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new CliError(`${name} must be a whole number of ${unit}, at least ${min} (got "${raw}")`, 2);
  return n;
}

function origins(env: Env): string[] {
  const raw = env.TDPLAN_CORS_ORIGINS ?? '';
  const list = raw
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of list) {
    let parsed: URL | null = null;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = null;
    }
    // An origin is scheme://host[:port], exactly as browsers send it: no path, no "*".
    if (!parsed || parsed.origin !== origin) {
      throw new CliError(`TDPLAN_CORS_ORIGINS must be a comma-separated list of origins such as https://planner.example.com (got "${origin}")`, 2);
    }
  }
  return list;
}

/** PostgreSQL's statement_timeout for `serve`'s connections: no single statement holds a connection longer. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

/** Per token: requests in flight (under the pool's 10 connections, so one script cannot take them all). */
export const DEFAULT_TOKEN_MAX_CONCURRENT = 8;
/** Per token: requests started per second, with a burst of as many. */
export const DEFAULT_TOKEN_MAX_RPS = 50;

export type ServeSettings = Required<Pick<ServerOptions, 'maxBodyBytes' | 'corsOrigins' | 'requestTimeoutMs' | 'tokenLimits'>> & {
  /** statement_timeout on PostgreSQL; 0 = none. */
  statementTimeoutMs: number;
};

export function serveSettingsFromEnv(env: Env = process.env): ServeSettings {
  return {
    maxBodyBytes: wholeNumber(env, 'TDPLAN_MAX_BODY_BYTES', DEFAULT_MAX_BODY_BYTES, 1024, 'bytes'),
    corsOrigins: origins(env),
    requestTimeoutMs: wholeNumber(env, 'TDPLAN_REQUEST_TIMEOUT_MS', DEFAULT_REQUEST_TIMEOUT_MS, 100, 'milliseconds'),
    statementTimeoutMs: wholeNumber(env, 'TDPLAN_STATEMENT_TIMEOUT_MS', DEFAULT_STATEMENT_TIMEOUT_MS, 0, 'milliseconds'),
    tokenLimits: {
      maxConcurrent: wholeNumber(env, 'TDPLAN_TOKEN_MAX_CONCURRENT', DEFAULT_TOKEN_MAX_CONCURRENT, 0, 'requests'),
      requestsPerSecond: wholeNumber(env, 'TDPLAN_TOKEN_MAX_RPS', DEFAULT_TOKEN_MAX_RPS, 0, 'requests per second'),
    },
  };
}
