// The GraphQL HTTP server: graphql-yoga (GraphQL-over-HTTP, GraphiQL) on node:http, with the
// operational endpoints beside it (/healthz, /readyz, /metrics), request logs and graceful shutdown.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PothosValidationError } from '@pothos/core';
import { getOperationAST, GraphQLError, Kind, type ExecutionResult } from 'graphql';
import { createYoga, maskError as defaultMaskError, type GraphiQLOptions, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { answerDirectly, directMediaType, type DirectServer } from './direct-graphql.js';
import { countingSqlRoundTrips, SqlRoundTrips, type Database } from './db/client.js';
import { readRoutingPlugin } from './db/routing-plugin.js';
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import type { Principal } from './auth/principal.js';
import { TokenCache } from './auth/token-cache.js';
import { bearerToken } from './auth/tokens.js';
import { CURSOR_ARGUMENTS, invalidCursor } from './cursors.js';
import { compiledExecutionPlugin, type CompiledExecution } from './graphql/compiled-execution.js';
import { cursorCheckPlugin } from './graphql/cursors.js';
import { QUERY_LIMITS } from './graphql/limits.js';
import { ConflictError, ForbiddenError, NotFoundError, StillReferencedError, ValidationError } from './errors.js';
import type { Context } from './graphql/context.js';
import { schema } from './graphql/schema.js';
import { NO_TOKEN_LIMITS, TokenAdmission, type TokenLimits } from './ops/admission.js';
import { databaseTrouble } from './ops/database-errors.js';
import { silentLogger, type Logger } from './ops/logger.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { serveUi } from './ui-static.js';

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
  /** Per-token limits on requests in flight and per second (default: none; `tdplan serve` sets them). */
  tokenLimits?: TokenLimits;
  /** How long one GraphQL execution may take before the client gets DEADLINE_EXCEEDED (503). */
  requestTimeoutMs?: number;
  /**
   * Origins (`https://planner.example.com`) whose browser pages may call the API with credentials.
   * Default none: no CORS headers, so browsers allow only same-origin pages (the planning UI is one).
   */
  corsOrigins?: readonly string[];
  /**
   * Queries run compiled by graphql-jit (src/graphql/compiled-execution.ts): `repeated` (the
   * default) from a document's second execution, `always` from its first (tests), `off` never.
   */
  compiledExecution?: CompiledExecution;
}

/** Per GraphQL execution (an import of 100,000 hosts through the API takes about 20 s). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

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
  /** Authentication and the token's limits, for yoga's onRequest and listen()'s direct path. */
  access: RequestAccess;
  /** What a client is told of an error thrown outside a typed result (the error masker). */
  mask(error: unknown): Error;
  /** The origins that get CORS headers. */
  corsOrigins: readonly string[];
}

/** Who requests are when the server runs with auth off. */
export const LOCAL_PRINCIPAL: Principal = { name: 'local (auth off)', role: 'ADMIN' };

function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="tdplan"' } } },
  });
}

/** The principal of a request's bearer token (through the token cache), or why there is none. */
async function principalOf(tokens: TokenCache, request: Request): Promise<Principal | string> {
  const header = request.headers.get('authorization');
  const token = bearerToken(header);
  if (!token) {
    return header
      ? 'the Authorization header must be "Bearer <API token>"'
      : 'authentication required: send "Authorization: Bearer <API token>" (tdplan token create --help)';
  }
  return (await tokens.authenticate(token)) ?? 'invalid or revoked API token';
}

/** Out of time: the request's deadline passed, or a statement or the wait for a connection timed out. */
function deadlineExceeded(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'DEADLINE_EXCEEDED', http: { status: 503, headers: { 'Retry-After': '1' } } } });
}

// Every request has a deadline, counted from its arrival: the token check and the execution race
// it, and past it the client gets DEADLINE_EXCEEDED at once. What is still running then is bounded
// by the database's statement timeout and the pool's wait.
class RequestDeadlines {
  private readonly arrivals = new WeakMap<Request, number>();
  constructor(readonly timeoutMs: number) {}

  arrived(request: Request): void {
    this.arrivals.set(request, performance.now());
  }

  /** `to`'s deadline is `from`'s. */
  transfer(from: Request, to: Request): void {
    const arrival = this.arrivals.get(from);
    if (arrival !== undefined) this.arrivals.set(to, arrival);
  }

  /** `work`, or `expired()` if the request's deadline passes first. */
  async race<T>(request: Request | undefined, work: Promise<T>, expired: () => T): Promise<T> {
    const arrival = (request && this.arrivals.get(request)) ?? performance.now();
    const remaining = Math.max(0, this.timeoutMs - (performance.now() - arrival));
    let timer: NodeJS.Timeout | undefined;
    work.catch(() => undefined); // a late failure has no one to tell
    try {
      return await Promise.race([work, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(expired()), remaining)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  error(): GraphQLError {
    return deadlineExceeded(
      `the request did not finish within its deadline of ${this.timeoutMs} ms: the server is busy or the request too heavy; retry later or ask for less`,
    );
  }
}

function deadlinePlugin(deadlines: RequestDeadlines): Plugin {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn((args) => {
        const request = (args.contextValue as { request?: Request } | undefined)?.request;
        return deadlines.race<ExecutionResult>(request, Promise.resolve(executeFn(args) as ExecutionResult), () => ({ errors: [deadlines.error()] }));
      });
    },
  };
}

function errorResponse(status: number, error: GraphQLError, headers: Record<string, string> = {}): Response {
  const { http: _http, ...extensions } = error.extensions;
  return new Response(JSON.stringify({ errors: [{ message: error.message, extensions }] }), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}

// Authentication from the headers alone, before anything reads the body: a caller without a valid
// token costs one indexed look-up, never a parse, and learns nothing about the schema. (yoga's
// GraphiQL page, a static GET, is answered by an earlier plugin and needs no token.) Then the
// token's own limits: requests in flight and requests per second (429 with Retry-After). Used by
// yoga's onRequest (accessPlugin) and by listen()'s direct path (src/direct-graphql.ts), which
// hands yoga the requests it does not answer itself already admitted (`transfer`).
class RequestAccess {
  private readonly releases = new WeakMap<Request, () => void>();
  private readonly expired = Symbol('deadline');
  constructor(
    private readonly tokens: TokenCache,
    private readonly auth: 'required' | 'off',
    private readonly principals: WeakMap<Request, Principal>,
    private readonly mask: (error: unknown) => Error,
    private readonly admission: TokenAdmission,
    private readonly deadlines: RequestDeadlines,
  ) {}

  /** null once `request` is admitted (its principal, deadline and admission recorded), else the refusal to send. */
  async admit(request: Request): Promise<Response | null> {
    this.deadlines.arrived(request);
    let principal: Principal | string = LOCAL_PRINCIPAL;
    if (this.auth === 'required') {
      try {
        const found = await this.deadlines.race<Principal | string | symbol>(request, principalOf(this.tokens, request), () => this.expired);
        if (found === this.expired) return errorResponse(503, this.deadlines.error(), { 'Retry-After': '1', connection: 'close' });
        principal = found as Principal | string;
      } catch (err) {
        // The token look-up failed (the database is away, no connection came free in time): the
        // same typed error a resolver's failure would give.
        const error = this.mask(err);
        const http = (error instanceof GraphQLError ? error.extensions.http : undefined) as { status?: number; headers?: Record<string, string> } | undefined;
        const graphqlError = error instanceof GraphQLError ? error : new GraphQLError(error.message);
        return errorResponse(http?.status ?? 500, graphqlError, { ...http?.headers, connection: 'close' });
      }
    }
    if (typeof principal === 'string') {
      // connection: close, or node would drain the unread body from a kept-alive connection.
      return errorResponse(401, unauthenticated(principal), { 'WWW-Authenticate': 'Bearer realm="tdplan"', connection: 'close' });
    }
    const admitted = this.admission.admit(principal.name);
    if (!admitted.admitted) {
      const what = admitted.limit === 'concurrency' ? `${admitted.value} requests in flight` : `${admitted.value} requests per second`;
      const error = new GraphQLError(`too many requests: this token may have at most ${what}; retry after ${admitted.retryAfterSeconds} s`, {
        extensions: { code: 'RATE_LIMITED', limit: admitted.limit, value: admitted.value, retryAfterSeconds: admitted.retryAfterSeconds },
      });
      return errorResponse(429, error, { 'Retry-After': String(admitted.retryAfterSeconds), connection: 'close' });
    }
    this.releases.set(request, admitted.release);
    this.principals.set(request, principal);
    return null;
  }

  /** Whether `request` has been admitted (and not yet released). */
  admitted(request: Request): boolean {
    return this.releases.has(request);
  }

  /** `to` takes the place of the admitted `from`: the same principal, deadline and admission. */
  transfer(from: Request, to: Request): void {
    const release = this.releases.get(from);
    const principal = this.principals.get(from);
    if (!release || !principal) throw new Error('transfer of a request that was not admitted');
    this.releases.delete(from);
    this.releases.set(to, release);
    this.principals.set(to, principal);
    this.deadlines.transfer(from, to);
  }

  /** The request's answer has gone (or its connection): its place in the token's limits is free. */
  release(request: Request): void {
    const release = this.releases.get(request);
    this.releases.delete(request);
    release?.();
  }
}

function accessPlugin(access: RequestAccess): Plugin {
  return {
    async onRequest({ request, endResponse }) {
      if (access.admitted(request)) return;
      const refusal = await access.admit(request);
      if (refusal) endResponse(refusal);
    },
    onResponse({ request }) {
      access.release(request);
    },
  };
}

// Bodies that listen() below has already checked (a declared Content-Length within the limit; node's
// parser then delivers exactly that many bytes) are read as they are. Any other request (yoga.fetch,
// yoga mounted elsewhere) gets what yoga's own maxRequestBodySize does: the Content-Length checked,
// and the body counted through a TransformStream. That stream, its pipeline and the new Request cost
// about 0.1 ms of CPU per request (bench/README.md, issue 17), so yoga's option is off and this
// plugin takes its place, after the request parsers like yoga's.
const checkedBodies = new WeakSet<IncomingMessage>();

function bodyTooLarge(): GraphQLError {
  return new GraphQLError('Request body too large', { extensions: { http: { status: 413 }, code: 'REQUEST_ENTITY_TOO_LARGE' } });
}

function bodyLimitPlugin(limit: number): Plugin {
  return {
    onRequestParse({ request, serverContext, requestParser, setRequestParser, fetchAPI }) {
      const node = (serverContext as { req?: IncomingMessage }).req;
      if (node && checkedBodies.has(node)) return;
      const contentLength = request.headers.get('content-length');
      if (contentLength !== null) {
        if (!/^\d+$/.test(contentLength)) {
          throw new GraphQLError('Content-Length header is invalid.', { extensions: { http: { status: 400 }, code: 'BAD_REQUEST' } });
        }
        if (Number(contentLength) > limit) throw bodyTooLarge();
      }
      if (!requestParser || !request.body) return;
      const parse = requestParser;
      setRequestParser((req) => {
        const body = req.body;
        if (!body) return parse(req);
        let bytesRead = 0;
        const Transform = body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
        const limited = body.pipeThrough(
          new Transform<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              bytesRead += chunk.byteLength;
              if (bytesRead > limit) controller.error(bodyTooLarge());
              else controller.enqueue(chunk);
            },
          }),
        );
        return parse(
          new fetchAPI.Request(req.url, { method: req.method, headers: req.headers, signal: req.signal, body: limited, duplex: 'half' } as RequestInit),
        );
      });
    },
  };
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
  const masker = (error: unknown, message: string, isDev?: boolean): Error => {
    const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
    // A well-formed cursor of another list, refused by @pothos/plugin-prisma: the same error as
    // every other cursor refusal (src/graphql/cursors.ts).
    if (original instanceof PothosValidationError && /cursor/i.test(original.message)) {
      const node = error instanceof GraphQLError ? error.nodes?.[0] : undefined;
      const given = node?.kind === Kind.FIELD ? (node.arguments ?? []).map((a) => a.name.value) : [];
      return masker(invalidCursor(CURSOR_ARGUMENTS.find((a) => given.includes(a)) ?? 'after'), message, isDev);
    }
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
    const trouble = databaseTrouble(original);
    if (trouble?.kind === 'unavailable') {
      logger.warn({ reason: trouble.reason }, 'database unavailable');
      return new GraphQLError(`database unavailable: ${trouble.reason}`, { extensions: { code: 'DATABASE_UNAVAILABLE', http: { status: 503 } } });
    }
    if (trouble?.kind === 'timeout') {
      logger.warn({ reason: trouble.reason }, 'request out of time');
      return deadlineExceeded(`the request ran out of time (${trouble.reason}): the server is busy or the request too heavy; retry later or ask for less`);
    }
    if (!(original instanceof GraphQLError)) logger.error({ err: original }, 'unexpected error (masked for the client)');
    const masked = defaultMaskError(error, message, isDev);
    // yoga attaches the parser's own message as extensions.originalError (for malformed JSON it
    // quotes the body, however large): the client gets the short message only.
    if (masked instanceof GraphQLError && masked.extensions.originalError !== undefined) {
      const { originalError: _dropped, ...extensions } = masked.extensions;
      return new GraphQLError(masked.message, { nodes: masked.nodes, source: masked.source, positions: masked.positions, path: masked.path, extensions });
    }
    return masked;
  };
  return masker;
}

// The GraphiQL page (about 9 MB with its bundle inlined) is the same for every request: loaded on
// the first request for it (the CLI never pays for it) and rendered once.
let graphiqlPage: Promise<string> | undefined;
function offlineGraphiQL(options: GraphiQLOptions): Promise<string> {
  return (graphiqlPage ??= import('@graphql-yoga/render-graphiql').then((m) => m.renderGraphiQL(options)));
}

export type TdplanYoga = YogaServerInstance<Record<string, unknown>, Context> & { ops: ServerOps };

export function createTdplanYoga(db: Database, options: ServerOptions = {}): TdplanYoga {
  const logger = options.logger ?? silentLogger;
  const metrics = createMetrics(db);
  const principals = new WeakMap<Request, Principal>();
  const deadlines = new RequestDeadlines(options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  const masker = errorMasker(logger);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const corsOrigins = options.corsOrigins ?? [];
  // Off (a lookup per request) until listen() starts it: only a listening server holds the
  // LISTEN connection it needs.
  const tokens = new TokenCache(db, logger);
  const mask = (error: unknown): Error => masker(error, 'Unexpected error.');
  const access = new RequestAccess(tokens, options.auth ?? 'required', principals, mask, new TokenAdmission(options.tokenLimits ?? NO_TOKEN_LIMITS), deadlines);
  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { title: 'tdplan: TDX capacity planning', defaultQuery: EXAMPLE_QUERY },
    // GraphiQL from the package's own bundle (yoga's default loads it from a CDN): works offline.
    renderGraphiQL: offlineGraphiQL,
    context: ({ request }) => ({ db, prisma: db.prisma, principal: principals.get(request) ?? LOCAL_PRINCIPAL }),
    plugins: [
      // First: nothing of the body is read, parsed or validated for a caller without a valid token.
      accessPlugin(access),
      // Before the plugins that wrap execution (round trips, deadline), so they wrap the compiled one too.
      ...(options.compiledExecution === 'off' ? [] : [compiledExecutionPlugin(options.compiledExecution ?? 'repeated')]),
      sqlRoundTripsPlugin(options.exposeSqlRoundTrips ?? false, metrics),
      deadlinePlugin(deadlines),
      cursorCheckPlugin(mask),
      // Queries to a streaming replica when there are any (DATABASE_REPLICA_URLS), writes to the primary.
      readRoutingPlugin(),
      // Parser and validation limits (cost, depth and breadth are in the schema: src/graphql/limits.ts).
      maxTokensPlugin({ n: QUERY_LIMITS.tokens }),
      maxAliasesPlugin({ n: QUERY_LIMITS.aliases }),
      // "Did you mean ...?" would map the schema for anyone probing it.
      blockFieldSuggestionsPlugin(),
      noSuggestionsPlugin(),
      // After the request parsers (yoga's come before any of these): see bodyLimitPlugin.
      bodyLimitPlugin(maxBodyBytes),
    ],
    maskedErrors: { maskError: masker },
    // Only configured origins get CORS headers (yoga's default reflects any origin, with credentials).
    cors: (request) => {
      const origin = request.headers.get('origin');
      return origin !== null && corsOrigins.includes(origin) ? { origin: [origin], credentials: true } : false;
    },
    // yoga's own limit (25,000,000 bytes by default) would apply before ours; bodyLimitPlugin
    // applies ours where listen() has not already.
    maxRequestBodySize: false,
    logging: false,
  });
  return Object.assign(yoga, { ops: { db, metrics, logger, tokens, maxBodyBytes, access, mask, corsOrigins } });
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

/** The database answers a trivial query within `timeoutMs` (however busy the pool is). */
async function databaseReady(db: Database, timeoutMs: number): Promise<string | null> {
  try {
    await db.ping(timeoutMs);
    return null;
  } catch (err) {
    return databaseTrouble(err)?.reason ?? (err as Error).message;
  }
}

const ROUTES = new Set(['/graphql', '/healthz', '/readyz', '/metrics', '/']);

export async function listen(yoga: TdplanYoga, host: string, port: number): Promise<RunningServer> {
  const { db, metrics, logger, maxBodyBytes, tokens, access, mask, corsOrigins } = yoga.ops;
  const directServer: DirectServer = { yoga, access, mask, counted: (outcome) => metrics.directGraphql.inc({ outcome }) };
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
    // A Host that makes no URL (a port above 65535, a malformed address): yoga would fail on it with a
    // 500 and its stack; the direct path builds its request's URL from it too.
    const host = req.headers.host;
    if (host !== undefined && (!URL.canParse(`http://${host}/`) || /[/?#@\\\s]/.test(host))) {
      res.setHeader('connection', 'close');
      return sendJson(res, 400, { errors: [{ message: 'the Host header is not a valid host', extensions: { code: 'BAD_REQUEST' } }] });
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
    // The planning UI's files (src/ui-static.ts); everything else goes to yoga.
    if (path !== '/graphql' && (await serveUi(req, res, path))) return;
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
      checkedBodies.add(req);
    }
    // A query POSTed as JSON: answered without yoga's HTTP layer (src/direct-graphql.ts).
    const direct = directMediaType(req, corsOrigins);
    if (direct) return answerDirectly(directServer, req, res, direct);
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
