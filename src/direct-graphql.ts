// Queries POSTed as JSON, answered by listen() itself: yoga's own envelop runs them (every plugin's
// parse, validate, context and execute hooks: the parser cache, limits, cursor checks, compiled
// execution, deadlines, read routing, error masking), but not yoga's HTTP layer: no body stream
// read through a fetch-API request, no chain of request, params and result hooks, no response
// object written back to node. That layer cost a third of the CPU of one host's request (0.27 of
// 0.78 ms) and most of a `{ __typename }` (bench/README.md, "The direct path", issue 17).
//
// Whatever this path is not sure to answer as yoga would goes on to yoga, which answers it as it
// always has: decided from the headers, another method, path, media type or Accept, or an Origin
// that gets CORS headers; decided from the body, anything but {query, variables?, operationName?}, a document that
// does not parse or validate, an operation other than a query (a mutation's write-LSN header is set
// in yoga's onResponse). Results with errors take yoga's own result processor (its status codes and
// error sanitising). test/graphql/direct-path.test.ts compares the two paths' answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getOperationAST, type DocumentNode, type ExecutionResult, GraphQLError } from 'graphql';
import { processRegularResult, type YogaServerInstance } from 'graphql-yoga';
import type { Context } from './graphql/context.js';

/** The media types of the answers this path writes (the others are yoga's). */
export type DirectMediaType = 'application/json' | 'application/graphql-response+json';

/** Authentication and the token's limits, as the server keeps them for yoga's onRequest. */
export interface DirectAccess {
  /** null once admitted, else the refusal to send. */
  admit(request: Request): Promise<Response | null>;
  /** `to` takes the place of the admitted `from` (yoga's onRequest then admits it as it is). */
  transfer(from: Request, to: Request): void;
  release(request: Request): void;
}

export interface DirectServer {
  yoga: YogaServerInstance<Record<string, unknown>, Context>;
  /** Counts the requests answered here and those handed over to yoga. */
  counted(outcome: 'answered' | 'handed_over'): void;
  access: DirectAccess;
  /** The server's error masker, for an error thrown out of execution. */
  mask(error: unknown): Error;
}

interface Params {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

// Larger bodies are yoga's (inventory imports: mutations, up to 64 MiB): not parsed here and again there.
const MAX_DIRECT_BODY_BYTES = 1_000_000;

/**
 * The media type to answer `req` with on this path, from its line and headers alone; null: yoga's.
 * An Origin among `corsOrigins` gets CORS headers from yoga; any other (the planning UI's own
 * pages send theirs) gets none from either.
 */
export function directMediaType(req: IncomingMessage, corsOrigins: readonly string[]): DirectMediaType | null {
  if (req.method !== 'POST' || req.url !== '/graphql') return null;
  const { headers } = req;
  const length = headers['content-length'];
  if (length === undefined || Number(length) > MAX_DIRECT_BODY_BYTES || headers.host === undefined) return null;
  if (headers.origin !== undefined && corsOrigins.includes(headers.origin)) return null;
  // As yoga matches it (case and all).
  const type = headers['content-type'];
  if (type !== 'application/json' && !type?.startsWith('application/json;')) return null;
  const accept = headers.accept;
  if (accept === undefined || accept === '*/*' || accept === 'application/json') return 'application/json';
  if (accept === 'application/graphql-response+json') return accept;
  return null;
}

/** The GraphQL parameters of a JSON body, when they are exactly what this path answers. */
function paramsOf(body: Buffer): Params | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  for (const key of Object.keys(parsed)) if (key !== 'query' && key !== 'variables' && key !== 'operationName') return null;
  const { query, variables, operationName } = parsed as Record<string, unknown>;
  if (typeof query !== 'string') return null;
  if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) return null;
  if (operationName != null && typeof operationName !== 'string') return null;
  return parsed as Params;
}

/** The body node's parser delivers (listen() has checked its declared length against the limit). */
function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    // The client went away before sending it all: there is no one to answer.
    req.once('close', () => resolve(null));
  });
}

async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  const body = Buffer.from(await response.arrayBuffer());
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  headers['content-length'] = String(body.length);
  res.writeHead(response.status, response.statusText, headers);
  res.end(body);
}

/** Yoga answers the request from here on, as if it had come to it (admitted already). */
async function handOver(server: DirectServer, request: Request, body: Buffer, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { yoga, access } = server;
  server.counted('handed_over');
  const whole = new yoga.fetchAPI.Request(request.url, { method: 'POST', headers: request.headers, body: Uint8Array.from(body) });
  access.transfer(request, whole);
  let response: Response;
  try {
    response = await yoga.fetch(whole, { req, res });
  } catch (error) {
    // yoga failed before its onResponse, which releases the request's place in the token's limits.
    access.release(whole);
    throw error;
  }
  await writeResponse(res, response);
}

/** Answers a request directMediaType() accepted, in `mediaType`. */
export async function answerDirectly(server: DirectServer, req: IncomingMessage, res: ServerResponse, mediaType: DirectMediaType): Promise<void> {
  const { yoga, access } = server;
  // The fetch-API request yoga would have made, without its body: plugins read its headers and key
  // what they keep per request by it.
  const request = new yoga.fetchAPI.Request(`http://${req.headers.host!}/graphql`, { method: 'POST', headers: req.headers as Record<string, string> });
  // The token's place is freed when the answer goes, or when the client goes while the request is
  // waiting for its body; a request already running keeps it until it is done, as yoga's do.
  let phase: 'admitting' | 'reading' | 'running' = 'admitting';
  let gone = false;
  res.once('close', () => {
    gone = true;
    if (phase === 'reading') access.release(request);
  });
  const refusal = await access.admit(request);
  if (refusal) return writeResponse(res, refusal);
  if (gone) return access.release(request);
  phase = 'reading';
  const body = await readBody(req);
  if (body === null) return access.release(request);
  phase = 'running';
  const params = paramsOf(body);
  const enveloped = yoga.getEnveloped({ req, res, request, params } as never);
  // parse and validate run every plugin's hooks, and some refuse by throwing (the token and alias
  // limits): whatever fails here is yoga's to answer.
  let document: DocumentNode | undefined;
  try {
    document = params ? enveloped.parse(params.query) : undefined;
    if (document && enveloped.validate(enveloped.schema, document).length > 0) document = undefined;
  } catch {
    document = undefined;
  }
  if (!params || !document || getOperationAST(document, params.operationName)?.operation !== 'query') {
    return handOver(server, request, body, req, res);
  }
  let result: ExecutionResult;
  try {
    const contextValue = await enveloped.contextFactory();
    result = (await enveloped.execute({
      schema: enveloped.schema,
      document,
      contextValue,
      variableValues: params.variables,
      operationName: params.operationName,
    })) as ExecutionResult;
  } catch (error) {
    // As yoga's handleError: each error masked, then a GraphQL error (500 unless it says otherwise).
    const masked = (error instanceof AggregateError ? error.errors : [error]).map((e) => server.mask(e));
    result = { errors: masked.map((m) => (m instanceof GraphQLError ? m : new GraphQLError(m.message, { originalError: m }))) };
  }
  access.release(request);
  server.counted('answered');
  if (!result.errors?.length && result.extensions?.http === undefined) {
    const text = JSON.stringify(result);
    res.writeHead(200, { 'content-type': `${mediaType}; charset=utf-8`, 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  await writeResponse(res, await processRegularResult(result, yoga.fetchAPI, mediaType));
}
