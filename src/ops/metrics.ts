// Prometheus metrics (/metrics). One registry per server, so tests can run several in one process.
import client from 'prom-client';
import type { Database } from '../db/client.js';

export interface Metrics {
  registry: client.Registry;
  httpRequests: client.Counter<'route' | 'status'>;
  httpDuration: client.Histogram<'route'>;
  graphqlOperations: client.Counter<'operation' | 'outcome'>;
  directGraphql: client.Counter<'outcome'>;
  sqlRoundTrips: client.Histogram;
}

export function createMetrics(db: Database): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'tdplan_' });
  const httpRequests = new client.Counter({
    name: 'tdplan_http_requests_total',
    help: 'HTTP requests by route and status code.',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new client.Histogram({
    name: 'tdplan_http_request_duration_seconds',
    help: 'HTTP request duration by route.',
    labelNames: ['route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const graphqlOperations = new client.Counter({
    name: 'tdplan_graphql_operations_total',
    help: 'GraphQL operations executed, by operation type and outcome (ok: no errors).',
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  });
  const directGraphql = new client.Counter({
    name: 'tdplan_graphql_direct_requests_total',
    help: 'GraphQL POSTs taken by the direct path (src/direct-graphql.ts): answered there, or handed over to yoga.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const sqlRoundTrips = new client.Histogram({
    name: 'tdplan_graphql_sql_round_trips',
    help: 'SQL round trips per GraphQL operation (constant per query shape when there is no N+1).',
    buckets: [1, 2, 3, 5, 8, 13, 21, 34],
    registers: [registry],
  });
  const pool = db.pool;
  new client.Gauge({
    name: 'tdplan_db_pool_connections',
    help: 'Database pool connections by state.',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
  return { registry, httpRequests, httpDuration, graphqlOperations, directGraphql, sqlRoundTrips };
}
