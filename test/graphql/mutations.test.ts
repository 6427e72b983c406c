// Inventory mutations through the HTTP API: typed errors as data, and nothing changed on failure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoFleet } from '../../src/inventory/demo-fleet.js';
import { exportInventory } from '../../src/inventory/export.js';
import { importDocument } from '../support/import.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testClient, type TestClient } from '../support/server.js';

let db: TestDatabase;
let client: TestClient;

beforeAll(async () => {
  db = await createTestDatabase();
  client = testClient(db);
  expect((await importDocument(db, demoFleet(), 'MERGE')).ok).toBe(true);
});
afterAll(async () => {
  await db.destroy();
});

type Result = Record<string, { __typename: string } & Record<string, unknown>>;

async function mutate(query: string, variables?: Record<string, unknown>): Promise<{ __typename: string } & Record<string, unknown>> {
  const res = await client.gql<Result>(query, variables);
  expect(res.errors).toBeUndefined();
  return Object.values(res.data!)[0]!;
}

const ERROR_FIELDS = `
  ... on Error { message }
  ... on ValidationError { problems { field message } }
  ... on NotFoundError { entity key }
  ... on ConflictError { entity field value }
  ... on StillReferencedError { entity key referencedBy { entity count } }
`;

describe('inventory mutations', () => {
  it('creates a platform, a module that supports it, a kernel, a host and a TD, by natural keys', async () => {
    const platform = await mutate(`mutation { createPlatform(input: { name: "GNR-AP-1S", sockets: 1, coresPerSocket: 128, threadsPerCore: 2 }) {
      __typename ... on MutationCreatePlatformSuccess { data { name maxLogicalCpus } } ${ERROR_FIELDS} } }`);
    expect(platform).toEqual({ __typename: 'MutationCreatePlatformSuccess', data: { name: 'GNR-AP-1S', maxLogicalCpus: 256 } });

    const module = await mutate(`mutation { createModule(input: { version: "2.0.03.00.0500", maxVcpusPerTd: 1152, features: [TOPOLOGY_ENUM, NO_RBP_MOD],
        supportedPlatforms: [{ name: "GNR-AP-1S" }], migration: { minExportVersion: 2, maxExportVersion: 3, minImportVersion: 2, maxImportVersion: 3 } }) {
      __typename ... on MutationCreateModuleSuccess { data { version maxVcpusPerTd effectiveMaxVcpusPerTd supportedPlatforms(first: 5) { totalCount edges { node { name } } } } } ${ERROR_FIELDS} } }`);
    expect(module).toMatchObject({
      __typename: 'MutationCreateModuleSuccess',
      data: { version: '2.0.03.00.0500', effectiveMaxVcpusPerTd: 1152, supportedPlatforms: { totalCount: 1 } },
    });

    const host = await mutate(`mutation { createHost(input: { hostname: "gnr-c01", platform: { name: "GNR-AP-1S" }, module: { version: "2.0.03.00.0500" },
        kernel: { name: "linux-6.16" }, presentCpus: 256, guestKeyIds: 16 }) {
      __typename ... on MutationCreateHostSuccess { data { hostname allocationRatio tdxEnabled kvmCapMaxVcpus kvmCapMaxVcpusLimitedBy } } ${ERROR_FIELDS} } }`);
    expect(host).toEqual({
      __typename: 'MutationCreateHostSuccess',
      data: { hostname: 'gnr-c01', allocationRatio: 1, tdxEnabled: true, kvmCapMaxVcpus: 256, kvmCapMaxVcpusLimitedBy: ['PRESENT_CPUS'] },
    });

    const td = await mutate(`mutation { createTd(input: { name: "td-new", vcpus: 32, host: { hostname: "gnr-c01" } }) {
      __typename ... on MutationCreateTdSuccess { data { name migratable host { hostname usedKeyIds allocatedVcpus } } } ${ERROR_FIELDS} } }`);
    expect(td).toEqual({
      __typename: 'MutationCreateTdSuccess',
      data: { name: 'td-new', migratable: true, host: { hostname: 'gnr-c01', usedKeyIds: 1, allocatedVcpus: 32 } },
    });
  });

  it('refers to entities by global ID as well', async () => {
    const res = await client.gql<{ host: { id: string } }>('{ host(hostname: "spr-a01") { id } }');
    const updated = await mutate(
      `mutation($id: ID!) { updateHost(host: { id: $id }, input: { guestKeyIds: 48 }) {
      __typename ... on MutationUpdateHostSuccess { data { hostname guestKeyIds } } ${ERROR_FIELDS} } }`,
      { id: res.data!.host.id },
    );
    expect(updated).toEqual({ __typename: 'MutationUpdateHostSuccess', data: { hostname: 'spr-a01', guestKeyIds: 48 } });
    const node = await client.gql<{ node: { __typename: string; hostname: string } }>(
      'query($id: ID!) { node(id: $id) { __typename ... on Host { hostname } } }',
      {
        id: res.data!.host.id,
      },
    );
    expect(node.data!.node).toEqual({ __typename: 'Host', hostname: 'spr-a01' });
  });

  it('reports every invalid field at once and changes nothing', async () => {
    const before = await exportInventory(db);
    const result = await mutate(`mutation { createHost(input: { hostname: " ", platform: { name: "SPR-2S" }, module: { version: "9.9" },
        kernel: { name: "nope" }, presentCpus: 400, guestKeyIds: -1, allocationRatio: 0 }) { __typename ${ERROR_FIELDS} } }`);
    expect(result.__typename).toBe('ValidationError');
    expect(result.problems).toEqual(
      expect.arrayContaining([
        { field: 'module', message: 'unknown module "9.9"' },
        { field: 'kernel', message: 'unknown kernel "nope"' },
        { field: 'hostname', message: 'must not be blank' },
        { field: 'presentCpus', message: '400 present CPUs exceed the 224 logical CPUs of platform "SPR-2S"' },
        { field: 'guestKeyIds', message: 'must be a non-negative integer, got -1' },
        { field: 'allocationRatio', message: 'must be > 0 and <= 64, got 0' },
      ]),
    );
    expect(await exportInventory(db)).toEqual(before);
  });

  it('refuses a duplicate natural key with a ConflictError', async () => {
    const result = await mutate(
      `mutation { createKernel(input: { name: "linux-6.16", kvmMaxVcpus: 1024, tdxVcpuPolicy: PRESENT_CPUS }) { __typename ${ERROR_FIELDS} } }`,
    );
    expect(result).toMatchObject({ __typename: 'ConflictError', entity: 'Kernel', field: 'name', value: 'linux-6.16' });
  });

  it('refuses to delete a module that hosts run, and changes nothing', async () => {
    const before = await exportInventory(db);
    const result = await mutate(`mutation { deleteModule(module: { version: "1.5.06.00.0744" }) { __typename ${ERROR_FIELDS} } }`);
    expect(result).toMatchObject({
      __typename: 'StillReferencedError',
      entity: 'TdxModule',
      key: '1.5.06.00.0744',
      referencedBy: [{ entity: 'Host', count: 5 }],
    });
    expect(await exportInventory(db)).toEqual(before);
  });

  it('refuses to delete a host that TDs run on, and deletes an empty one', async () => {
    const refused = await mutate(`mutation { deleteHost(host: { hostname: "spr-a01" }) { __typename ${ERROR_FIELDS} } }`);
    expect(refused).toMatchObject({ __typename: 'StillReferencedError', referencedBy: [{ entity: 'Td', count: 3 }] });
    const done = await mutate(`mutation { deleteHost(host: { hostname: "emr-a04" }) { __typename ... on MutationDeleteHostSuccess { data { deletedId } } } }`);
    expect(done.__typename).toBe('MutationDeleteHostSuccess');
    expect((await client.gql<{ host: null }>('{ host(hostname: "emr-a04") { hostname } }')).data!.host).toBeNull();
  });

  it('answers NotFoundError for an unknown target', async () => {
    const result = await mutate(`mutation { updateTd(td: { name: "ghost" }, input: { vcpus: 2 }) { __typename ${ERROR_FIELDS} } }`);
    expect(result).toMatchObject({ __typename: 'NotFoundError', entity: 'Td', key: 'ghost' });
  });

  it('refuses a global ID of another type as a validation problem', async () => {
    const res = await client.gql<{ td: { id: string } }>('{ td(name: "td-web-01") { id } }');
    const result = await mutate(`mutation($id: ID!) { updateHost(host: { id: $id }, input: { guestKeyIds: 1 }) { __typename ${ERROR_FIELDS} } }`, {
      id: res.data!.td.id,
    });
    expect(result).toMatchObject({ __typename: 'ValidationError', problems: [{ field: 'host' }] });
  });

  it('refuses to shrink a platform below the CPUs its hosts present', async () => {
    const result = await mutate(`mutation { updatePlatform(platform: { name: "EMR-2S" }, input: { coresPerSocket: 32 }) { __typename ${ERROR_FIELDS} } }`);
    expect(result.__typename).toBe('ValidationError');
  });

  it("clears a module's MAX_VCPUS_PER_TD with an explicit null (R2: then 65535)", async () => {
    const result = await mutate(`mutation { updateModule(module: { version: "2.0.03.00.0500" }, input: { maxVcpusPerTd: null }) {
      __typename ... on MutationUpdateModuleSuccess { data { maxVcpusPerTd effectiveMaxVcpusPerTd migration { maxImportVersion } } } ${ERROR_FIELDS} } }`);
    expect(result).toEqual({
      __typename: 'MutationUpdateModuleSuccess',
      data: { maxVcpusPerTd: null, effectiveMaxVcpusPerTd: 65535, migration: { maxImportVersion: 3 } },
    });
  });

  it('v2: sets and clears the revision-2 facts, refuses bad ones by field, and changes nothing then', async () => {
    const kernel = await mutate(`mutation { createKernel(input: { name: "linux-6.18", kvmMaxVcpus: 4096, tdxVcpuPolicy: PRESENT_CPUS }) {
      __typename ... on MutationCreateKernelSuccess { data { tdxInitFailure moduleMetadata } } ${ERROR_FIELDS} } }`);
    expect(kernel).toEqual({ __typename: 'MutationCreateKernelSuccess', data: { tdxInitFailure: 'FAIL_KVM_LOAD', moduleMetadata: 'STRICT' } });
    const host = await mutate(`mutation { updateHost(host: { hostname: "gnr-a02" }, input: { kvmIntelTdx: false, memoryMiB: 524288, reservedMemoryMiB: 8192 }) {
      __typename ... on MutationUpdateHostSuccess { data { kvmIntelTdx memoryMiB reservedMemoryMiB kvmLoads tdxDisabledReasons { code effect } } } ${ERROR_FIELDS} } }`);
    expect(host).toEqual({
      __typename: 'MutationUpdateHostSuccess',
      data: {
        kvmIntelTdx: false,
        memoryMiB: 524288,
        reservedMemoryMiB: 8192,
        kvmLoads: true,
        tdxDisabledReasons: [
          { code: 'TDX_NOT_REQUESTED', effect: 'TDX_DISABLED' },
          { code: 'PLATFORM_UNSUPPORTED', effect: 'TDX_DISABLED' },
        ],
      },
    });
    const td = await mutate(`mutation { updateTd(td: { name: "td-web-01" }, input: { memoryMiB: null }) {
      __typename ... on MutationUpdateTdSuccess { data { memoryMiB } } ${ERROR_FIELDS} } }`);
    expect(td).toEqual({ __typename: 'MutationUpdateTdSuccess', data: { memoryMiB: null } });

    const before = await exportInventory(db);
    const badHost = await mutate(`mutation { updateHost(host: { hostname: "gnr-a02" }, input: { memoryMiB: 4096, reservedMemoryMiB: 8192 }) {
      __typename ${ERROR_FIELDS} } }`);
    expect(badHost).toMatchObject({
      __typename: 'ValidationError',
      problems: [{ field: 'reservedMemoryMiB', message: 'must be a non-negative integer no larger than memoryMiB (4096), got 8192' }],
    });
    const badModule = await mutate(`mutation { updateModule(module: { version: "1.5.06.00.0744" }, input: { tdcsPages: 0, tdvpsPages: 2000 }) {
      __typename ${ERROR_FIELDS} } }`);
    expect(badModule).toMatchObject({
      __typename: 'ValidationError',
      problems: [
        { field: 'tdcsPages', message: 'must be 1..1024 (4 KiB pages), got 0' },
        { field: 'tdvpsPages', message: 'must be 1..1024 (4 KiB pages), got 2000' },
      ],
    });
    const badTd = await mutate(`mutation { createTd(input: { name: "td-bad", vcpus: 2, memoryMiB: 0 }) { __typename ${ERROR_FIELDS} } }`);
    expect(badTd).toMatchObject({ __typename: 'ValidationError', problems: [{ field: 'memoryMiB', message: 'must be 1..67108864 or null (unknown), got 0' }] });
    const badDoc = await mutate(
      `mutation($d: JSONObject!) { importInventory(document: $d) { __typename ... on ValidationError { problems { field message } } } }`,
      { d: { kernels: [{ name: 'k', kvmMaxVcpus: 1024, tdxVcpuPolicy: 'PRESENT_CPUS', tdxInitFailure: 'SOMETIMES' }] } },
    );
    expect(badDoc).toMatchObject({
      __typename: 'ValidationError',
      problems: expect.arrayContaining([expect.objectContaining({ field: 'kernels[0].tdxInitFailure' })]),
    });
    expect(await exportInventory(db)).toEqual(before);
  });

  it('imports and exports the inventory document over GraphQL', async () => {
    const bad = { hosts: [{ hostname: 'x', platform: 'XYZ', kernel: 'linux-6.16', presentCpus: 1, guestKeyIds: 1 }] };
    const refused = await mutate(
      `mutation($d: JSONObject!) { importInventory(document: $d) { __typename ... on ValidationError { message problems { field message } } } }`,
      { d: bad },
    );
    expect(refused).toMatchObject({ __typename: 'ValidationError', problems: [{ field: 'hosts[0].platform', message: 'unknown platform "XYZ"' }] });
    const doc = (await client.gql<{ inventoryDocument: Record<string, unknown> }>('{ inventoryDocument }')).data!.inventoryDocument;
    const replaced = await mutate(
      `mutation($d: JSONObject!) { importInventory(document: $d, mode: REPLACE) {
      __typename ... on ImportInventorySuccess { data { hosts { created updated deleted } } } } }`,
      { d: doc },
    );
    expect(replaced).toEqual({ __typename: 'ImportInventorySuccess', data: { hosts: { created: 0, updated: 0, deleted: 0 } } });
  });
});
