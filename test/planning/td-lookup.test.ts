// td(name:) answers its two commonest selections with statements of its own
// (src/planning/td-lookup.ts) instead of Prisma's findUnique: they must return what Prisma returns,
// for placed TDs, planned ones, TDs on a host without a module and names that do not exist; and the
// GraphQL field must take them for exactly those selections (R6's migrationTargets among them).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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
      expect(await tdByName(db, name), name).toEqual(await db.prisma.td.findUnique({ where: { name } }));
      expect(await tdByNameWithExportRange(db, name), name).toEqual(await db.prisma.td.findUnique({ where: { name }, include: EXPORT_RANGE }));
    }
  });
});

describe('td(name:)', () => {
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
