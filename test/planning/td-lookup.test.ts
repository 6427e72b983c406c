// td(name:) answers its two commonest selections with statements of its own
// (src/planning/td-lookup.ts) instead of Prisma's findUnique: they must return what Prisma returns,
// for placed TDs, planned ones, TDs on a host without a module and names that do not exist; and the
// GraphQL field must take them for exactly those selections (R6's migrationTargets among them).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { migrationTargetsOfTd, placementCandidates } from '../../src/planning/placement.js';
import { tdByName, tdByNameWithExportRange } from '../../src/planning/td-lookup.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { createFleet } from '../support/fleet.js';
import { testClient } from '../support/server.js';

let db: TestDatabase;
let names: string[];

beforeAll(async () => {
  db = await createTestDatabase();
  await createFleet(db, { hosts: 10, tdsPerHost: 2 });
  await db.prisma.td.create({ data: { name: 'planned-td', vcpus: 4, memoryMiB: 2048, migratable: false } });
  // TDX on (R1 v2's features) and migration versions (R6), so that placed TDs have targets.
  await db.prisma.tdxModule.updateMany({
    data: { features: ['TOPOLOGY_ENUM', 'NO_RBP_MOD'], minExportVersion: 1, maxExportVersion: 2, minImportVersion: 1, maxImportVersion: 2 },
  });
  // Hosts 4 and 9 of the fleet have no module.
  names = (await db.prisma.td.findMany({ select: { name: true }, orderBy: { id: 'asc' } })).map((t) => t.name);
  expect(names.length).toBe(21);
});
afterAll(async () => {
  await db.destroy();
});

const EXPORT_RANGE = { host: { select: { module: { select: { minExportVersion: true, maxExportVersion: true } } } } } as const;

describe('tdByName and tdByNameWithExportRange', () => {
  it("return Prisma's findUnique rows for every TD, and null for no TD", async () => {
    const withoutModule = await db.prisma.td.count({ where: { host: { moduleId: null } } });
    expect(withoutModule).toBeGreaterThan(0);
    for (const name of [...names, 'no-such-td']) {
      expect(await tdByName(db, name, {}), name).toEqual(await db.prisma.td.findUnique({ where: { name } }));
      expect(await tdByNameWithExportRange(db, name, {}), name).toEqual(await db.prisma.td.findUnique({ where: { name }, include: EXPORT_RANGE }));
    }
  });
});

describe('look-ups in one tick', () => {
  it('share one statement per request, as Prisma batches findUnique: aliased td(name:) fields are one round trip', async () => {
    const client = testClient(db);
    const some = [names[0]!, names[3]!, 'planned-td', 'no-such-td', names[0]!];
    for (const fields of ['name vcpus', 'name vcpus migrationTargets(first: 1) @include(if: true) { edges { node { hostname } } }']) {
      const query = `query(${some.map((_, i) => `$n${i}: String!`).join(', ')}) { ${some.map((_, i) => `a${i}: td(name: $n${i}) { ${fields} }`).join(' ')} }`;
      const res = await client.gql<Record<string, { name: string; vcpus: number } | null>>(query, Object.fromEntries(some.map((n, i) => [`n${i}`, n])));
      expect(res.errors).toBeUndefined();
      for (const [i, name] of some.entries()) {
        const td = await db.prisma.td.findUnique({ where: { name } });
        expect(res.data?.[`a${i}`] ? { name: res.data[`a${i}`]!.name, vcpus: res.data[`a${i}`]!.vcpus } : null, name).toEqual(
          td && { name: td.name, vcpus: td.vcpus },
        );
      }
      // The TDs in one statement; with migrationTargets, one more per TD that can move (names[0] twice, names[3]).
      expect(res.extensions?.sqlRoundTrips, fields).toBe(fields.includes('migrationTargets') ? 1 + 3 : 1);
    }
    // Calls in one tick share a statement for one batch key (a request), not across keys.
    const statements = vi.spyOn(db.pool, 'query');
    try {
      const shared = {};
      const [a, b] = await Promise.all([tdByName(db, names[0]!, shared), tdByName(db, names[1]!, shared)]);
      expect(statements).toHaveBeenCalledTimes(1);
      const [c, d] = await Promise.all([tdByName(db, names[0]!, {}), tdByName(db, names[1]!, {})]);
      expect(statements).toHaveBeenCalledTimes(3);
      expect([a?.name, b?.name]).toEqual([names[0], names[1]]);
      expect([c?.name, d?.name]).toEqual([names[0], names[1]]);
    } finally {
      statements.mockRestore();
    }
  });
});

describe('migrationTargetsOfTd', () => {
  it("R6: the TD and its first page of targets in one statement: tdByNameWithExportRange's row and placementCandidates' page", async () => {
    // Some TDs not migratable: they have no targets.
    await db.prisma.td.updateMany({ where: { name: { in: [names[1]!, names[5]!] } }, data: { migratable: false } });
    for (const name of [...names, 'no-such-td']) {
      const td = await tdByNameWithExportRange(db, name, {});
      for (const first of [0, 1, 3, 50]) {
        const found = await migrationTargetsOfTd(db, name, { first, withHosts: 'columns' });
        if (!td) {
          expect(found, name).toBeNull();
          continue;
        }
        expect(found?.td, name).toEqual(td);
        const exportRange = td.host?.module;
        const movable = td.migratable && td.hostId !== null && exportRange;
        const page = movable
          ? await placementCandidates(db, {
              vcpus: td.vcpus,
              memoryMiB: td.memoryMiB,
              migration: { sourceHostId: td.hostId, minExportVersion: exportRange.minExportVersion, maxExportVersion: exportRange.maxExportVersion },
              first,
              withHosts: 'columns',
            })
          : { candidates: [], hasNextPage: false };
        expect(found?.page, `${name}, first ${first}`).toEqual(page);
        if (movable && first === 50) expect(page.candidates.length, name).toBeGreaterThan(0);
      }
    }
    await db.prisma.td.updateMany({ where: { name: { in: [names[1]!, names[5]!] } }, data: { migratable: true } });
  });
});

describe('td(name:)', () => {
  it("reads migrationTargets' first page with the TD (one round trip) when that is the page the field asks for, with the same answers", async () => {
    const client = testClient(db);
    const page = (directive: string, args: string) =>
      `query($n: String!, $f: Int) { td(name: $n) { name migrationTargets${args} ${directive} { totalCount edges { cursor remainingVcpus node { hostname presentCpus } } pageInfo { hasNextPage endCursor } } } }`;
    for (const name of [names[0]!, names[8]!, 'planned-td', 'no-such-td']) {
      for (const f of [null, 0, 2, 50]) {
        const together = await client.gql(page('', '(first: $f)'), { n: name, f });
        // A directive keeps the field from being read ahead: two round trips, the same answer.
        const apart = await client.gql(page('@include(if: true)', '(first: $f)'), { n: name, f });
        expect(together.errors, name).toBeUndefined();
        expect(together.data, `${name}, first ${f}`).toEqual(apart.data);
        const movable = name === names[0];
        // The count is a statement of its own either way, when the TD can move.
        expect(together.extensions?.sqlRoundTrips, name).toBe(movable ? 2 : 1);
        expect(apart.extensions?.sqlRoundTrips, name).toBe(movable ? 3 : 1);
      }
    }
    // A cursor: the field reads its page itself.
    const first = await client.gql<{ td: { migrationTargets: { pageInfo: { endCursor: string } } } }>(page('', '(first: $f)'), { n: names[0]!, f: 1 });
    const after = first.data!.td.migrationTargets.pageInfo.endCursor;
    const next = await client.gql(`query($n: String!, $a: String) { td(name: $n) { migrationTargets(first: 1, after: $a) { edges { node { hostname } } } } }`, {
      n: names[0]!,
      a: after,
    });
    expect(next.errors).toBeUndefined();
    expect(next.extensions?.sqlRoundTrips).toBe(2);
  });

  it('takes them for its own fields and for migrationTargets, Prisma for anything else, with the same answers', async () => {
    const client = testClient(db);
    // Counts Prisma's look-ups; each still runs.
    const lookups = vi.spyOn(db.prisma.td, 'findUnique');
    try {
      const ask = async (query: string, name: string): Promise<{ data: unknown; prismaLookups: number }> => {
        const before = lookups.mock.calls.length;
        const res = await client.gql(query, { n: name });
        expect(res.errors, query).toBeUndefined();
        return { data: res.data, prismaLookups: lookups.mock.calls.length - before };
      };
      const own = 'query($n: String!) { td(name: $n) { id name vcpus memoryMiB migratable generation } }';
      const targets = 'query($n: String!) { td(name: $n) { name vcpus migrationTargets(first: 3) { totalCount edges { node { hostname } } } } }';
      const other = 'query($n: String!) { td(name: $n) { name host { hostname module { version } } } }';
      for (const name of [names[0]!, names[8]!, 'planned-td', 'no-such-td']) {
        const td = await db.prisma.td.findUnique({ where: { name }, include: { host: { include: { module: true } } } });
        const ownAnswer = await ask(own, name);
        expect(ownAnswer.prismaLookups).toBe(0);
        expect((ownAnswer.data as { td: { name: string; vcpus: number } | null }).td?.vcpus ?? null).toBe(td?.vcpus ?? null);
        const targetsAnswer = await ask(targets, name);
        expect(targetsAnswer.prismaLookups).toBe(0);
        const otherAnswer = await ask(other, name);
        expect(otherAnswer.prismaLookups).toBe(1);
        expect(otherAnswer.data).toEqual({
          td: td && { name, host: td.host && { hostname: td.host.hostname, module: td.host.module && { version: td.host.module.version } } },
        });
      }
    } finally {
      lookups.mockRestore();
    }
  });
});
