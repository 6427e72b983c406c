// The GraphQL HTTP server: graphql-yoga (GraphQL-over-HTTP, GraphiQL) on node:http.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError } from 'graphql';
import { createYoga, maskError as defaultMaskError, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { countingSqlRoundTrips, SqlRoundTrips, type Database } from './db/client.js';
import { ConflictError, NotFoundError, StillReferencedError, ValidationError } from './errors.js';
import type { Context } from './graphql/context.js';
import { schema } from './graphql/schema.js';

export interface ServerOptions {
  /** Report `extensions.sqlRoundTrips` on every response: for tests, benchmarks and profiling. */
  exposeSqlRoundTrips?: boolean;
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
  if (original instanceof ConflictError || original instanceof StillReferencedError) {
    return new GraphQLError(original.message, { extensions: { code: 'CONFLICT' } });
  }
  return defaultMaskError(error, message, isDev);
}

export type TdplanYoga = YogaServerInstance<Record<string, unknown>, Context>;

export function createTdplanYoga(db: Database, options: ServerOptions = {}): TdplanYoga {
  return createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: { title: 'tdplan: TDX capacity planning', defaultQuery: EXAMPLE_QUERY },
    context: () => ({ db, prisma: db.prisma }),
    plugins: [sqlRoundTripsPlugin(options.exposeSqlRoundTrips ?? false)],
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
