// The GraphQL HTTP server: graphql-yoga (GraphQL-over-HTTP, GraphiQL) on node:http.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError } from 'graphql';
import { createYoga, maskError as defaultMaskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { countingSqlRoundTrips, SqlRoundTrips, type Database } from './db/client.js';
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { authenticate, bearerToken, type Principal } from './auth/tokens.js';
import { QUERY_LIMITS } from './graphql/limits.js';
import { ConflictError, ForbiddenError, NotFoundError, StillReferencedError, ValidationError } from './errors.js';
import type { Context } from './graphql/context.js';
import { schema } from './graphql/schema.js';

export interface ServerOptions {
  /** Report `extensions.sqlRoundTrips` on every response: for tests, benchmarks and profiling. */
  exposeSqlRoundTrips?: boolean;
  /**
   * `required` (the default): every request needs `Authorization: Bearer <API token>`.
   * `off`: every request acts as a local admin; `tdplan serve --no-auth` allows it on loopback only.
   */
  auth?: 'required' | 'off';
}

/** Who requests are when the server runs with auth off. */
export const LOCAL_PRINCIPAL: Principal = { name: 'local (auth off)', role: 'ADMIN' };

function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="tdplan"' } } },
  });
}

/** The principal of a request: its bearer token's, or a 401 before anything runs. */
async function principalOf(db: Database, request: Request): Promise<Principal> {
  const header = request.headers.get('authorization');
  const token = bearerToken(header);
  if (!token) {
    throw unauthenticated(
      header ? 'the Authorization header must be "Bearer <API token>"' : 'authentication required: send "Authorization: Bearer <API token>" (tdplan token create --help)',
    );
  }
  const principal = await authenticate(db.prisma, token);
  if (!principal) throw unauthenticated('invalid or revoked API token');
  return principal;
}

// Counts the SQL round trips of one GraphQL execution: execution runs inside the counter's
// AsyncLocalStorage scope, so every pool query made by its resolvers is attributed to it.
function sqlRoundTripsPlugin(expose: boolean): Plugin {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      const counter = new SqlRoundTrips();
      setExecuteFn((args) => countingSqlRoundTrips(counter, () => executeFn(args)));
      return {
        onExecuteDone({ result, setResult }) {
          if (!expose || Symbol.asyncIterator in result) return;
          setResult({ ...result, extensions: { ...result.extensions, sqlRoundTrips: counter.count } });
        },
      };
    },
  };
}

// Errors of ours raised outside a typed mutation result (a query's bad argument, a missing
// target) reach the client with a code and their details; anything else stays masked.
function maskError(error: unknown, message: string, isDev?: boolean): Error {
  const original = error instanceof GraphQLError ? error.originalError : error;
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
  if (process.env.TDPLAN_DEBUG_ERRORS) console.error(error);
  return defaultMaskError(error, message, isDev);
}

export type TdplanYoga = YogaServerInstance<Record<string, unknown>, Context>;

export function createTdplanYoga(db: Database, options: ServerOptions = {}): TdplanYoga {
  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { title: 'tdplan: TDX capacity planning', defaultQuery: EXAMPLE_QUERY },
    context: async ({ request }) => ({
      db,
      prisma: db.prisma,
      principal: options.auth === 'off' ? LOCAL_PRINCIPAL : await principalOf(db, request),
    }),
    plugins: [
      sqlRoundTripsPlugin(options.exposeSqlRoundTrips ?? false),
      // Parser and validation limits (cost, depth and breadth are in the schema: src/graphql/limits.ts).
      maxTokensPlugin({ n: QUERY_LIMITS.tokens }),
      maxAliasesPlugin({ n: QUERY_LIMITS.aliases }),
      // "Did you mean ...?" would map the schema for anyone probing it.
      blockFieldSuggestionsPlugin(),
    ],
    maskedErrors: { maskError },
    logging: false,
  });
}

export interface RunningServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function listen(yoga: TdplanYoga, host: string, port: number): Promise<RunningServer> {
  const server = createServer(yoga);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/graphql`,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
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
