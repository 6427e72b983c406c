// The GraphQL HTTP server: graphql-yoga (GraphQL-over-HTTP, GraphiQL) on node:http, with the
// operational endpoints beside it (/healthz, /readyz, /metrics), request logs and graceful shutdown.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getOperationAST, GraphQLError } from 'graphql';
import { createYoga, maskError as defaultMaskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { countingSqlRoundTrips, SqlRoundTrips, type Database } from './db/client.js';
import { readRoutingPlugin } from './db/routing-plugin.js';
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import type { Principal } from './auth/principal.js';
import { TokenCache } from './auth/token-cache.js';
import { bearerToken } from './auth/tokens.js';
import { QUERY_LIMITS } from './graphql/limits.js';
import { ConflictError, ForbiddenError, NotFoundError, StillReferencedError, ValidationError } from './errors.js';
import type { Context } from './graphql/context.js';
import { schema } from './graphql/schema.js';
import { databaseUnavailableReason } from './ops/database-errors.js';
import { silentLogger, type Logger } from './ops/logger.js';
import { createMetrics, type Metrics } from './ops/metrics.js';

export interface ServerOptions {
  /** Report `extensions.sqlRoundTrips` on every response: for tests, benchmarks and profiling. */
  exposeSqlRoundTrips?: boolean;
  /**
   * `required` (the default): every request needs `Authorization: Bearer <API token>`.
   * `off`: every request acts as a local admin; `tdplan serve --no-auth` allows it on loopback only.
   */
  auth?: 'required' | 'off';
  /** Where request logs and unexpected errors go (default: nowhere). */
  logger?: Logger;
  /** Largest request body accepted, in bytes (413 above it). */
  maxBodyBytes?: number;
}

/** 64 MiB: inventory documents of large fleets go through importInventory. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 2 ** 20;

/** What the HTTP layer around yoga needs: the database to check, metrics to record, a logger. */
export interface ServerOps {
  db: Database;
  metrics: Metrics;
  logger: Logger;
  /** Authentication, cached while token changes are announced (src/auth/token-cache.ts). */
  tokens: TokenCache;
  maxBodyBytes: number;
}

/** Who requests are when the server runs with auth off. */
export const LOCAL_PRINCIPAL: Principal = { name: 'local (auth off)', role: 'ADMIN' };

function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="tdplan"' } } },
  });
}

/** The principal of a request: its bearer token's, or a 401 before anything runs. */
async function principalOf(tokens: TokenCache, request: Request): Promise<Principal> {
  const header = request.headers.get('authorization');
  const token = bearerToken(header);
  if (!token) {
    throw unauthenticated(
      header
        ? 'the Authorization header must be "Bearer <API token>"'
        : 'authentication required: send "Authorization: Bearer <API token>" (tdplan token create --help)',
    );
  }
  const principal = await tokens.authenticate(token);
  if (!principal) throw unauthenticated('invalid or revoked API token');
  return principal;
}

// Counts the SQL round trips of one GraphQL execution: execution runs inside the counter's
// AsyncLocalStorage scope, so every pool query made by its resolvers is attributed to it.
function sqlRoundTripsPlugin(expose: boolean, metrics: Metrics): Plugin {
  return {
    onExecute({ executeFn, setExecuteFn, args }) {
      const counter = new SqlRoundTrips();
      setExecuteFn((a) => countingSqlRoundTrips(counter, () => executeFn(a)));
      const operation = getOperationAST(args.document, args.operationName);
      const type = operation?.operation ?? 'unknown';
      // The node response, for the request log line (yoga passes node's req/res as server context).
      const res = (args.contextValue as { res?: ServerResponse & { graphqlOperation?: string } }).res;
      if (res) res.graphqlOperation = operation?.name?.value ?? type;
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result) return;
          metrics.graphqlOperations.inc({ operation: type, outcome: result.errors?.length ? 'error' : 'ok' });
          metrics.sqlRoundTrips.observe(counter.count);
          if (!expose) return;
          setResult({ ...result, extensions: { ...result.extensions, sqlRoundTrips: counter.count } });
        },
      };
    },
  };
}

// graphql-js appends "Did you mean ...?" to more than validation errors (variables of an input
// type, enum values); the armor plugin covers validation only, so strip the hint from every error.
const SUGGESTION = / ?Did you mean [^?]*\?/g;
function withoutSuggestion(error: Error): GraphQLError {
  if (!(error instanceof GraphQLError)) return new GraphQLError(error.message.replace(SUGGESTION, ''), { originalError: error });
  const e = error;
  return new GraphQLError(e.message.replace(SUGGESTION, ''), {
    nodes: e.nodes,
    source: e.source,
    positions: e.positions,
    path: e.path,
    originalError: e.originalError,
    extensions: e.extensions,
  });
}

function noSuggestionsPlugin(): Plugin {
  return {
    onValidate() {
      return ({ result, setResult }) => {
        if (result.some((e) => e.message.includes('Did you mean'))) setResult(result.map(withoutSuggestion));
      };
    },
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result || !result.errors?.some((e) => e.message.includes('Did you mean'))) return;
          setResult({
            ...result,
            errors: result.errors.map(withoutSuggestion),
          });
        },
      };
    },
  };
}

// Errors of ours raised outside a typed mutation result (a query's bad argument, a missing
// target) reach the client with a code and their details; a database that is not there says so
// (503); anything else is logged here and masked for the client.
function errorMasker(logger: Logger) {
  return (error: unknown, message: string, isDev?: boolean): Error => {
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    if (original instanceof ValidationError) {
      return new GraphQLError(original.message, { extensions: { code: 'VALIDATION_FAILED', problems: original.problems } });
    }
    if (original instanceof NotFoundError) {
      return new GraphQLError(original.message, { extensions: { code: 'NOT_FOUND', entity: original.entity, key: original.key } });
    }
    if (original instanceof ForbiddenError) {
      return new GraphQLError(original.message, { extensions: { code: 'FORBIDDEN', role: original.principal.role, field: original.field } });
    }
    if (original instanceof ConflictError || original instanceof StillReferencedError) {
      return new GraphQLError(original.message, { extensions: { code: 'CONFLICT' } });
    }
    const unavailable = databaseUnavailableReason(original);
    if (unavailable !== null) {
      logger.warn({ reason: unavailable }, 'database unavailable');
      return new GraphQLError(`database unavailable: ${unavailable}`, { extensions: { code: 'DATABASE_UNAVAILABLE', http: { status: 503 } } });
    }
    if (!(original instanceof GraphQLError)) logger.error({ err: original }, 'unexpected error (masked for the client)');
    return defaultMaskError(error, message, isDev);
  };
}

export type TdplanYoga = YogaServerInstance<Record<string, unknown>, Context> & { ops: ServerOps };

export function createTdplanYoga(db: Database, options: ServerOptions = {}): TdplanYoga {
  const logger = options.logger ?? silentLogger;
  const metrics = createMetrics(db);
  // Off (a lookup per request) until listen() starts it: only a listening server holds the
  // LISTEN connection it needs.
  const tokens = new TokenCache(db, logger);
  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { title: 'tdplan: TDX capacity planning', defaultQuery: EXAMPLE_QUERY },
    context: async ({ request }) => ({
      db,
      prisma: db.prisma,
      principal: options.auth === 'off' ? LOCAL_PRINCIPAL : await principalOf(tokens, request),
    }),
    plugins: [
      sqlRoundTripsPlugin(options.exposeSqlRoundTrips ?? false, metrics),
      // Queries to a streaming replica when there are any (DATABASE_REPLICA_URLS), writes to the primary.
      readRoutingPlugin(),
      // Parser and validation limits (cost, depth and breadth are in the schema: src/graphql/limits.ts).
      maxTokensPlugin({ n: QUERY_LIMITS.tokens }),
      maxAliasesPlugin({ n: QUERY_LIMITS.aliases }),
      // "Did you mean ...?" would map the schema for anyone probing it.
      blockFieldSuggestionsPlugin(),
      noSuggestionsPlugin(),
    ],
    maskedErrors: { maskError: errorMasker(logger) },
    logging: false,
  });
  return Object.assign(yoga, { ops: { db, metrics, logger, tokens, maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES } });
}

export interface RunningServer {
  url: string;
  server: Server;
  /** Stops at once: open connections are cut. */
  close(): Promise<void>;
  /**
   * Graceful stop: no new connections, /readyz answers 503 "draining", new requests on open
   * connections get 503, in-flight requests finish (cut after `timeoutMs`).
   */
  shutdown(timeoutMs?: number): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

/** The database answers a trivial query within `timeoutMs`. */
async function databaseReady(db: Database, timeoutMs: number): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      db.pool.query('SELECT 1'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return null;
  } catch (err) {
    return databaseUnavailableReason(err) ?? (err as Error).message;
  } finally {
    clearTimeout(timer);
  }
}

const ROUTES = new Set(['/graphql', '/healthz', '/readyz', '/metrics']);

export async function listen(yoga: TdplanYoga, host: string, port: number): Promise<RunningServer> {
  const { db, metrics, logger, maxBodyBytes, tokens } = yoga.ops;
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | null = null;

  const handle = async (req: IncomingMessage, res: ServerResponse & { graphqlOperation?: string }): Promise<void> => {
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0]!;
    const route = ROUTES.has(path) ? path : 'other';
    inFlight += 1;
    res.on('close', () => {
      inFlight -= 1;
      const seconds = (performance.now() - started) / 1000;
      metrics.httpRequests.inc({ route, status: String(res.statusCode) });
      metrics.httpDuration.observe({ route }, seconds);
      logger.info({ method: req.method, path, status: res.statusCode, durationMs: Math.round(seconds * 1000), operation: res.graphqlOperation }, 'request');
      if (inFlight === 0) idle?.();
    });
    if (draining) {
      sendJson(res, 503, { status: 'draining', message: 'the server is shutting down' }, { connection: 'close' });
      return;
    }
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const problem = await databaseReady(db, 1000);
      // Replicas are reported but never make the instance unready: reads fall back to the primary.
      const detail = { auth: { tokenCache: tokens.state }, ...(db.replicas ? { replicas: db.replicas.status() } : {}) };
      return problem === null
        ? sendJson(res, 200, { status: 'ready', ...detail })
        : sendJson(res, 503, { status: 'unavailable', reason: `database: ${problem}`, ...detail });
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(await metrics.registry.metrics());
      return;
    }
    if (req.method === 'POST') {
      // Bodies are checked before anything reads them: a declared length above the limit is
      // refused, and a body without a declared length (chunked) too, since it could be endless.
      const declared = req.headers['content-length'];
      if (declared === undefined) {
        res.setHeader('connection', 'close');
        return sendJson(res, 411, { errors: [{ message: 'a POST body needs a Content-Length header', extensions: { code: 'LENGTH_REQUIRED' } }] });
      }
      if (Number(declared) > maxBodyBytes) {
        res.setHeader('connection', 'close');
        return sendJson(res, 413, {
          errors: [
            {
              message: `request body of ${declared} bytes exceeds the limit of ${maxBodyBytes}`,
              extensions: { code: 'PAYLOAD_TOO_LARGE', limit: maxBodyBytes },
            },
          ],
        });
      }
    }
    await yoga(req, res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Unexpected error.' }] });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  await tokens.start();
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const closed = (): Promise<void> => new Promise<void>((resolve) => server.close(() => resolve()));
  return {
    url: `http://${shownHost}:${address.port}/graphql`,
    server,
    close: async () => {
      const done = closed();
      server.closeAllConnections();
      await done;
      await tokens.close();
    },
    shutdown: async (timeoutMs = 10_000) => {
      draining = true;
      logger.info({ inFlight }, 'shutting down: finishing in-flight requests');
      const done = closed();
      server.closeIdleConnections();
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      server.closeAllConnections();
      await done;
      await tokens.close();
      logger.info('stopped');
    },
  };
}

export const EXAMPLE_QUERY = `# Hosts with their module, platform, kernel and TDs
query Fleet {
  hosts(first: 20) {
    totalCount
    edges {
      node {
        hostname
        presentCpus
        guestKeyIds
        platform { name maxLogicalCpus }
        module { version maxVcpusPerTd }
        kernel { name kvmMaxVcpus tdxVcpuPolicy }
        tds(first: 5) { totalCount edges { node { name vcpus } } }
      }
    }
  }
}
`;
