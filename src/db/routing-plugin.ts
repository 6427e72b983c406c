// The yoga plugin that applies the replica routing of src/db/replicas.ts to each request: a
// query's context gets the Database `ReplicaSet.forRead` chooses; a mutation keeps the primary
// for everything it does (its transactions and the reads of its result), and afterwards records
// the write's WAL position for the session and returns it as the `tdplan-write-lsn` header.
import { getOperationAST, GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../graphql/context.js';
import { formatLsn, parseLsn } from './replicas.js';

/** Response header: the WAL position that covers the request's writes. */
export const WRITE_LSN_HEADER = 'tdplan-write-lsn';
/** Request header: serve this read from a database that has replayed at least this position. */
export const MIN_LSN_HEADER = 'tdplan-min-lsn';

export function readRoutingPlugin(): Plugin<Context> {
  const writeLsnOf = new WeakMap<Request, string>();
  return {
    onExecute({ args, extendContext, setResultAndStopExecution }) {
      const ctx = args.contextValue as Context & { request?: Request };
      const replicas = ctx.db.replicas;
      if (!replicas) return;
      const operation = getOperationAST(args.document, args.operationName)?.operation;
      const session = ctx.principal.name;
      if (operation === 'query') {
        const header = ctx.request?.headers.get(MIN_LSN_HEADER) ?? null;
        let minLsn: bigint | null = null;
        if (header !== null) {
          try {
            minLsn = parseLsn(header);
          } catch {
            setResultAndStopExecution({
              errors: [
                new GraphQLError(`the ${MIN_LSN_HEADER} header must be a WAL position such as 0/3016060 (from ${WRITE_LSN_HEADER})`, {
                  extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
                }),
              ],
            });
            return;
          }
        }
        const reader = replicas.forRead(session, minLsn);
        if (reader !== ctx.db) extendContext({ db: reader, prisma: reader.prisma });
        return;
      }
      if (operation !== 'mutation') return;
      return {
        async onExecuteDone() {
          // After the mutation's transactions committed: later reads of this session must see them.
          const lsn = await replicas.noteWrite(session);
          if (ctx.request && lsn !== null) writeLsnOf.set(ctx.request, formatLsn(lsn));
        },
      };
    },
    onResponse({ request, response }) {
      const lsn = writeLsnOf.get(request);
      if (lsn) response.headers.set(WRITE_LSN_HEADER, lsn);
    },
  };
}
