// The `hosts` connection can be answered by one hand-written statement (hostPage of
// src/planning/host-page.ts) instead of Prisma's findMany. Its rows must be exactly the rows Prisma
// returns for the same filter, order, cursor, take and skip, in the same order, value for value,
// with the same relations and columns: compared here on random fleets, filters, orders and cursors,
// with hostCount's count for the filter (the connection's totalCount) against Prisma's.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TDX_DISABLED_REASON_CODES } from '../../src/capacity/rules.js';
import type { Prisma } from '../../src/db/client.js';
import {
  hostCount,
  hostPage,
  HOST_COLUMN_NAMES,
  hostColumnsReadBy,
  HOST_ORDER_COLUMNS,
  KERNEL_COLUMN_NAMES,
  MODULE_COLUMN_NAMES,
  PLATFORM_COLUMN_NAMES,
  TD_COLUMN_NAMES,
  type HostPageFilter,
  type HostPageQuery,
  type HostRowShape,
  type KeyRef,
} from '../../src/planning/host-page.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createFleet } from '../support/fleet.js';
import { importDocument } from '../support/import.js';
import { fleetWithTdsArb, quotedNameArb } from '../support/random-fleet.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.destroy();
});

// The same conditions as hostFilterWhere of src/graphql/types/host.ts, written out for Prisma.
function prismaWhere(f: HostPageFilter): Prisma.HostWhereInput {
  const ref = (r: KeyRef, key: 'name' | 'version') => ('id' in r ? { id: r.id } : { [key]: r.name });
  const and: Prisma.HostWhereInput[] = [];
  if (f.hostname != null) and.push({ hostname: f.hostname });
  if (f.module) and.push({ module: { is: ref(f.module, 'version') } });
  if (f.hasModule != null) and.push({ moduleId: f.hasModule ? { not: null } : null });
  if (f.platform) and.push({ platform: { is: ref(f.platform, 'name') } });
  if (f.kernel) and.push({ kernel: { is: ref(f.kernel, 'name') } });
  if (f.tdxEnabled != null) and.push({ tdxStatus: { is: { tdxEnabled: f.tdxEnabled } } });
  if (f.tdxDisabledReason) and.push({ tdxStatus: { is: { tdxDisabledReasons: { has: f.tdxDisabledReason } } } });
  if (f.minKvmCapMaxVcpus != null) and.push({ tdxStatus: { is: { kvmCapMaxVcpus: { gte: f.minKvmCapMaxVcpus } } } });
  if (f.kvmLoads != null) and.push({ tdxStatus: { is: { kvmLoads: f.kvmLoads } } });
  if (f.overFull != null) and.push({ tdxStatus: { is: { overFull: f.overFull } } });
  if (f.drift != null) and.push({ observation: { is: { drift: f.drift } } });
  return { AND: and };
}

function prismaInclude(shape: HostRowShape): Prisma.HostInclude | undefined {
  const select = (columns: readonly string[]) => ({ select: Object.fromEntries(columns.map((c) => [c, true])) });
  const include: Record<string, unknown> = {};
  if (shape.kernel) include.kernel = select(shape.kernel);
  if (shape.platform) include.platform = select(shape.platform);
  if (shape.module) {
    const s = select(shape.module.columns);
    include.module = shape.module.platforms ? { select: { ...s.select, platforms: { select: { platformId: true } } } } : s;
  }
  if (shape.tds) include.tds = { ...select(shape.tds.columns), orderBy: { id: 'asc' }, take: shape.tds.take, skip: 0 };
  if (shape.tdCount) include._count = { select: { tds: true } };
  return Object.keys(include).length ? (include as Prisma.HostInclude) : undefined;
}

async function prismaPage(q: HostPageQuery): Promise<unknown[]> {
  const orderBy: Prisma.HostOrderByWithRelationInput[] = q.order ? [{ [q.order.column]: q.order.direction }, { id: q.order.direction }] : [{ id: 'asc' }];
  const include = prismaInclude(q.shape);
  // Some host columns: Prisma's select of them, with the relations beside them.
  const select = q.shape.host && { ...Object.fromEntries(q.shape.host.map((c) => [c, true])), ...include };
  return db.prisma.host.findMany({
    ...(select ? { select: select as Prisma.HostSelect } : include ? { include } : {}),
    where: prismaWhere(q.filter),
    orderBy,
    take: q.take,
    skip: q.skip,
    ...(q.cursor ? { cursor: q.cursor } : {}),
  });
}

// Prisma's order of a module's platforms is not specified; they are read as a set.
const platformsSorted = (rows: unknown[]): unknown[] =>
  rows.map((row) => {
    const r = row as { module?: { platforms?: { platformId: number }[] } | null };
    return r.module?.platforms ? { ...r, module: { ...r.module, platforms: [...r.module.platforms].sort((a, b) => a.platformId - b.platformId) } } : r;
  });

/** Mostly absent: each condition of a filter is given about one time in six. */
const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 5 }, { arbitrary: arb, weight: 1 });
const optionalBool = rarely(fc.boolean());
const columnsArb = <C extends string>(all: readonly C[]) => fc.option(fc.subarray([...all], { minLength: 1 }), { nil: undefined });

/** A query over ids up to maxId and the fleet's names (some unknown). */
const queryArb = (maxId: number, names: { modules: string[]; platforms: string[]; kernels: string[]; hostnames: string[] }) => {
  const refArb = (known: string[]) =>
    rarely(fc.oneof(fc.record({ id: fc.integer({ min: 1, max: 8 }) }), fc.record({ name: fc.constantFrom(...known, 'no-such-name') })));
  const filterArb: fc.Arbitrary<HostPageFilter> = fc.record({
    // `host(hostname:)`: one host, or none. Rarer than the other conditions: it leaves at most one
    // row, and the random-fleet test must still compare pages of several rows.
    hostname: fc.oneof({ arbitrary: fc.constant(undefined), weight: 11 }, { arbitrary: fc.constantFrom(...names.hostnames, 'no-such-host'), weight: 1 }),
    module: refArb(names.modules),
    hasModule: optionalBool,
    platform: refArb(names.platforms),
    kernel: refArb(names.kernels),
    tdxEnabled: optionalBool,
    tdxDisabledReason: rarely(fc.constantFrom(...TDX_DISABLED_REASON_CODES)),
    minKvmCapMaxVcpus: rarely(fc.constantFrom(1, 224, 576, 1024)),
    kvmLoads: optionalBool,
    overFull: optionalBool,
    drift: optionalBool,
  });
  const shapeArb: fc.Arbitrary<HostRowShape> = fc.record({
    // Some host columns (hostPage needs the ones it reads itself: added below), or all.
    host: columnsArb(HOST_COLUMN_NAMES),
    kernel: columnsArb(KERNEL_COLUMN_NAMES),
    platform: columnsArb(PLATFORM_COLUMN_NAMES),
    module: fc.option(fc.record({ columns: fc.subarray([...MODULE_COLUMN_NAMES], { minLength: 1 }), platforms: fc.boolean() }), { nil: undefined }),
    // The TDs' connection from its start (first + 1, fewer or more than a host has) and its count.
    tds: fc.option(fc.record({ take: fc.constantFrom(1, 2, 3, 21), columns: fc.subarray([...TD_COLUMN_NAMES], { minLength: 1 }) }), { nil: undefined }),
    tdCount: fc.option(fc.constant(true), { nil: undefined }),
  });
  return fc
    .record({
      filter: filterArb,
      order: fc.option(fc.record({ column: fc.constantFrom(...HOST_ORDER_COLUMNS), direction: fc.constantFrom('asc' as const, 'desc' as const) }), {
        nil: null,
      }),
      take: fc.oneof(fc.integer({ min: -6, max: 6 }), fc.constantFrom(101, -101)),
      skip: fc.constantFrom(0, 1),
      // Cursors: hosts of the fleet, ids of no host, and hosts the filter leaves out.
      cursor: fc.option(fc.record({ id: fc.integer({ min: 0, max: maxId + 2 }) }), { nil: undefined }),
      shape: shapeArb,
    })
    .map((q) => withReadColumns(q as HostPageQuery));
};

/** `q` with the host columns hostPage reads itself (id, the relations' keys, the order column) when it names some. */
function withReadColumns(q: HostPageQuery): HostPageQuery {
  if (!q.shape.host) return q;
  return { ...q, shape: { ...q.shape, host: [...new Set([...q.shape.host, ...hostColumnsReadBy(q.order?.column, q.shape)])] } };
}

async function namesAndMaxId() {
  const [modules, platforms, kernels, hosts, max] = await Promise.all([
    db.prisma.tdxModule.findMany({ select: { version: true } }),
    db.prisma.platform.findMany({ select: { name: true } }),
    db.prisma.kernel.findMany({ select: { name: true } }),
    db.prisma.host.findMany({ select: { hostname: true }, orderBy: { id: 'asc' }, take: 20 }),
    db.prisma.host.aggregate({ _max: { id: true } }),
  ]);
  return {
    names: {
      modules: modules.map((m) => m.version),
      platforms: platforms.map((p) => p.name),
      kernels: kernels.map((k) => k.name),
      hostnames: hosts.map((h) => h.hostname),
    },
    maxId: max._max.id ?? 0,
  };
}

/** Some hosts' last probe reports, drifting or not, for the drift filter. */
async function observe(): Promise<void> {
  const hosts = await db.prisma.host.findMany({ select: { id: true } });
  await db.prisma.hostObservation.deleteMany({});
  const difference = { field: 'presentCpus', predicted: 1, observed: 2, message: 'differs' };
  await db.prisma.hostObservation.createMany({
    data: hosts
      .filter((h) => h.id % 3 !== 0)
      .map((h) => ({ hostId: h.id, observedBy: 'test', probe: {}, drift: h.id % 3 === 1, differences: h.id % 3 === 1 ? [difference] : [] })),
  });
}

async function compare(q: HostPageQuery): Promise<number> {
  const [got, expected, count, prismaCount] = await Promise.all([
    hostPage(db, q),
    prismaPage(q),
    hostCount(db, q.filter),
    db.prisma.host.count({ where: prismaWhere(q.filter) }),
  ]);
  expect(platformsSorted(got)).toStrictEqual(platformsSorted(expected));
  // The connection's totalCount: the same filter counted as Prisma counts it.
  expect(count).toBe(prismaCount);
  return got.length;
}

/** Two hosts of a fleet of their own, unless the fleet the tests before left has two or more. */
async function atLeastTwoHosts(): Promise<void> {
  if ((await db.prisma.host.count()) >= 2) return;
  const twoHosts = {
    platforms: [{ name: 'EMR-2S', sockets: 2, coresPerSocket: 64, threadsPerCore: 2 }],
    kernels: [{ name: 'linux-6.16', kvmMaxVcpus: 4096, tdxVcpuPolicy: 'PRESENT_CPUS' }],
    hosts: ['a', 'b'].map((n) => ({ hostname: `emr-${n}`, platform: 'EMR-2S', kernel: 'linux-6.16', presentCpus: 256, guestKeyIds: 64 })),
  };
  expect(await importDocument(db, twoHosts, 'REPLACE')).toMatchObject({ ok: true });
}

describe('a hosts page from one statement', () => {
  it("returns Prisma's rows for every filter, order, cursor and shape: a fixed fleet", async () => {
    await createFleet(db, { hosts: 40, tdsPerHost: 2 });
    await observe();
    const { names, maxId } = await namesAndMaxId();
    let rows = 0;
    await fc.assert(
      fc.asyncProperty(queryArb(maxId, names), async (q) => {
        rows += await compare(q);
      }),
      { numRuns: 300 },
    );
    expect(rows).toBeGreaterThan(200);
  });

  it("returns Prisma's rows: random fleets", async () => {
    let rows = 0;
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(
        fleetWithTdsArb.chain((doc) =>
          fc.tuple(
            fc.constant(doc),
            fc.array(queryArb(doc.hosts.length + 40, { modules: [], platforms: [], kernels: [], hostnames: doc.hosts.map((h) => h.hostname) }), {
              minLength: 20,
              maxLength: 20,
            }),
          ),
        ),
        async ([doc, queries]) => {
          compared += 1;
          expect(await importDocument(db, doc, 'REPLACE')).toMatchObject({ ok: true });
          await observe();
          const { names, maxId } = await namesAndMaxId();
          // Cursors: this fleet's hosts (ids grow from fleet to fleet), and an id of none.
          const ids = (await db.prisma.host.findMany({ select: { id: true }, orderBy: { id: 'asc' } })).map((h) => h.id);
          const cursorOf = (c: { id: number } | undefined) => (c ? { id: ids[c.id] ?? maxId + 1 } : undefined);
          for (const q of queries) {
            // Names of this fleet for the references given by name.
            const named = (r: KeyRef | undefined, known: string[]) => (r && 'name' in r && known.length ? { name: known[r.name.length % known.length]! } : r);
            rows += await compare({
              ...q,
              cursor: cursorOf(q.cursor),
              filter: {
                ...q.filter,
                module: named(q.filter.module, names.modules),
                platform: named(q.filter.platform, names.platforms),
                kernel: named(q.filter.kernel, names.kernels),
              },
            });
          }
        },
      ),
      { numRuns: 15 },
    );
    expect(rows).toBeGreaterThan(compared);
  });

  // TDs reach the server as one text array literal per host (textRowsPicker of
  // src/planning/table-columns.ts): names PostgreSQL quotes or escapes, and unknown memory (NULL),
  // must come back as Prisma gives them.
  it("returns Prisma's TDs whatever their names, and unknown memory", async () => {
    // Any host of the fleet the tests before left (a fleet of its own when run alone).
    if ((await db.prisma.host.count()) === 0) await createFleet(db, { hosts: 2, tdsPerHost: 0 });
    await db.prisma.td.deleteMany({});
    const host = (await db.prisma.host.findFirst({ orderBy: { id: 'asc' }, select: { id: true, hostname: true } }))!;
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(
        // Any name the database takes (the API refuses leading and trailing spaces; the table only blank names).
        fc.uniqueArray(quotedNameArb, { minLength: 0, maxLength: 8 }),
        fc.boolean(),
        async (names, allColumns) => {
          await db.prisma.td.deleteMany({});
          for (const [i, name] of names.entries()) {
            await db.prisma.td.create({ data: { name, vcpus: 1 + i, memoryMiB: i % 2 ? null : 1024 * (i + 1), hostId: host.id, migratable: i % 3 !== 0 } });
          }
          const q: HostPageQuery = {
            filter: { hostname: host.hostname },
            order: null,
            take: 1,
            skip: 0,
            shape: { tds: { take: 21, columns: allColumns ? TD_COLUMN_NAMES : ['id', 'name', 'memoryMiB'] }, tdCount: true },
          };
          const [got] = await Promise.all([hostPage(db, q), compare(q)]);
          expect((got[0] as unknown as { tds: { name: string }[] }).tds.map((t) => t.name)).toStrictEqual(names);
          compared += 1;
        },
      ),
      { numRuns: 40 },
    );
    expect(compared).toBe(40);
  });

  // A host's columns reach the server as one record literal (recordPicker of
  // src/planning/table-columns.ts): hostnames PostgreSQL quotes or escapes must come back as Prisma gives them.
  it("returns Prisma's hosts whatever their hostnames", async () => {
    await atLeastTwoHosts();
    const hosts = await db.prisma.host.findMany({ select: { id: true }, orderBy: { id: 'asc' }, take: 3 });
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(quotedNameArb, { minLength: hosts.length, maxLength: hosts.length }),
        fc.constantFrom<HostRowShape>(
          {},
          { kernel: ['name'], tdCount: true },
          { host: ['id', 'hostname', 'moduleId'], module: { columns: ['version'], platforms: false } },
        ),
        async (names, shape) => {
          // Two passes, so that no name is taken twice on the way.
          for (const [i, h] of hosts.entries()) await db.prisma.host.update({ where: { id: h.id }, data: { hostname: `renaming ${i}` } });
          for (const [i, h] of hosts.entries()) await db.prisma.host.update({ where: { id: h.id }, data: { hostname: names[i]! } });
          const q: HostPageQuery = { filter: {}, order: null, take: hosts.length, skip: 0, shape };
          const [got] = await Promise.all([hostPage(db, q), compare(q)]);
          expect(got.map((h) => h.hostname)).toStrictEqual(names);
          // One host by name, as host(hostname:) asks.
          expect((await hostPage(db, { ...q, filter: { hostname: names[0]! }, take: 1 })).map((h) => h.hostname)).toStrictEqual([names[0]]);
          compared += 1;
        },
      ),
      { numRuns: 40 },
    );
    expect(compared).toBe(40);
  });

  // PostgreSQL computes a select list below a page's Sort and LIMIT: a record literal there would be
  // built for every host the page's order sorts (every host of the table, with no index for it), not
  // for the page's rows (recordSql says why).
  it('builds the record literals above the page: nothing under a LIMIT builds one', async () => {
    await atLeastTwoHosts();
    const sent: { text: string; values: unknown[] }[] = [];
    const query = db.pool.query.bind(db.pool);
    db.pool.query = ((text: string, values?: unknown[]) => {
      sent.push({ text, values: values ?? [] });
      return query(text, values);
    }) as typeof db.pool.query;
    try {
      for (const order of [null, ...HOST_ORDER_COLUMNS.map((column) => ({ column, direction: 'desc' as const }))]) {
        for (const filter of [{}, { tdxEnabled: true }]) {
          for (const shape of [{}, { kernel: ['name'] as const, tdCount: true }]) {
            for (const take of [1, 3]) await hostPage(db, { filter, order, take, skip: 0, shape });
          }
        }
      }
    } finally {
      db.pool.query = query;
    }
    interface PlanNode {
      'Node Type': string;
      Output?: string[];
      Plans?: PlanNode[];
    }
    const below = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(below)];
    const underLimits = (node: PlanNode): PlanNode[] => (node['Node Type'] === 'Limit' ? below(node) : (node.Plans ?? []).flatMap(underLimits));
    expect(sent.length).toBe((HOST_ORDER_COLUMNS.length + 1) * 8);
    for (const { text, values } of sent) {
      const { rows } = await db.pool.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(`EXPLAIN (VERBOSE, FORMAT JSON) ${text}`, values);
      const plan = rows[0]!['QUERY PLAN'][0]!.Plan;
      expect(below(plan).some((node) => (node.Output ?? []).join().includes('ROW('))).toBe(true);
      for (const node of underLimits(plan)) expect((node.Output ?? []).join(', ')).not.toContain('ROW(');
    }
  });

  it('refuses a shape whose host columns lack what the statement reads itself', async () => {
    // The random fleets before may have left a single host; the last page below reads two.
    await atLeastTwoHosts();
    const q: HostPageQuery = { filter: {}, order: null, take: 2, skip: 0, shape: { host: ['id', 'hostname'], kernel: ['name'] } };
    await expect(hostPage(db, q)).rejects.toThrow(/lack kernelId/);
    await expect(hostPage(db, { ...q, shape: { host: ['hostname'] } })).rejects.toThrow(/lack id/);
    await expect(hostPage(db, { ...q, order: { column: 'presentCpus', direction: 'asc' }, shape: { host: ['id'] } })).rejects.toThrow(/lack presentCpus/);
    expect(await hostPage(db, { ...q, shape: { host: ['id', 'kernelId'], kernel: ['name'] } })).toHaveLength(2);
  });
});
