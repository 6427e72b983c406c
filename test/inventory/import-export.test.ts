import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { demoFleet } from '../../src/inventory/demo-fleet.js';
import { normalizeInventoryDocument, type InventoryDocument } from '../../src/inventory/document.js';
import { exportInventory } from '../../src/inventory/export.js';
import { importDocument } from '../support/import.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
const empty: InventoryDocument = { platforms: [], modules: [], kernels: [], hosts: [], tds: [] };

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.destroy();
});
beforeEach(async () => {
  const res = await importDocument(db, empty, 'REPLACE');
  expect(res.ok).toBe(true);
});

describe('inventory import and export', () => {
  it('gives back the imported document, normalised', async () => {
    const res = await importDocument(db, demoFleet(), 'MERGE');
    expect(res).toMatchObject({ ok: true, counts: { hosts: { created: 17 }, tds: { created: 20 } } });
    expect(await exportInventory(db)).toEqual(normalizeInventoryDocument(demoFleet()));
  });

  it('fills defaults: allocationRatio 1.0, migratable true, module and host null; v2: mainline kernels, kvm_intel.tdx=1, memory unknown, 6 control pages', async () => {
    const doc = {
      platforms: [{ name: 'P', sockets: 1, coresPerSocket: 4, threadsPerCore: 2 }],
      modules: [{ version: '1.5' }],
      kernels: [{ name: 'k', kvmMaxVcpus: 1024, tdxVcpuPolicy: 'PRESENT_CPUS' }],
      hosts: [{ hostname: 'h', platform: 'P', kernel: 'k', presentCpus: 8, guestKeyIds: 1 }],
      tds: [{ name: 't', vcpus: 2 }],
    };
    expect((await importDocument(db, doc, 'MERGE')).ok).toBe(true);
    const out = await exportInventory(db);
    expect(out.hosts[0]).toEqual({
      hostname: 'h',
      platform: 'P',
      module: null,
      kernel: 'k',
      presentCpus: 8,
      guestKeyIds: 1,
      allocationRatio: 1,
      kvmIntelTdx: true,
      memoryMiB: null,
      reservedMemoryMiB: 0,
    });
    expect(out.tds[0]).toEqual({ name: 't', vcpus: 2, host: null, migratable: true, memoryMiB: null });
    expect(out.kernels[0]).toEqual({ name: 'k', kvmMaxVcpus: 1024, tdxVcpuPolicy: 'PRESENT_CPUS', tdxInitFailure: 'FAIL_KVM_LOAD', moduleMetadata: 'STRICT' });
    expect(out.modules[0]).toEqual({ version: '1.5', maxVcpusPerTd: null, features: [], platforms: [], tdcsPages: 6, tdvpsPages: 6 });
  });

  it('MERGE upserts by natural key and keeps what the document does not list', async () => {
    await importDocument(db, demoFleet(), 'MERGE');
    const res = await importDocument(
      db,
      {
        tds: [
          { name: 'td-web-01', vcpus: 6, host: 'spr-a01' },
          { name: 'td-new', vcpus: 1, host: null },
        ],
      },
      'MERGE',
    );
    expect(res).toMatchObject({ ok: true, counts: { tds: { created: 1, updated: 1, deleted: 0 }, hosts: { created: 0, updated: 0 } } });
    const out = await exportInventory(db);
    expect(out.tds).toHaveLength(21);
    expect(out.tds.find((t) => t.name === 'td-web-01')?.vcpus).toBe(6);
  });

  it('MERGE counts an unchanged document as no change', async () => {
    await importDocument(db, demoFleet(), 'MERGE');
    const res = await importDocument(db, demoFleet(), 'MERGE');
    expect(res).toMatchObject({
      ok: true,
      counts: { platforms: { created: 0, updated: 0 }, hosts: { created: 0, updated: 0 }, tds: { created: 0, updated: 0 } },
    });
  });

  it('REPLACE makes the document the whole inventory', async () => {
    await importDocument(db, demoFleet(), 'MERGE');
    const smaller = demoFleet();
    smaller.tds = smaller.tds.filter((t) => t.host !== 'gnr-b02');
    smaller.hosts = smaller.hosts.filter((h) => h.hostname !== 'gnr-b02');
    const res = await importDocument(db, smaller, 'REPLACE');
    expect(res).toMatchObject({ ok: true, counts: { hosts: { deleted: 1 }, tds: { deleted: 2 } } });
    expect(await exportInventory(db)).toEqual(normalizeInventoryDocument(smaller));
  });

  it('REPLACE refuses a document that refers to entities only the database has', async () => {
    await importDocument(db, demoFleet(), 'MERGE');
    const res = await importDocument(db, { tds: [{ name: 'x', vcpus: 1, host: 'spr-a01' }] }, 'REPLACE');
    expect(res).toEqual({ ok: false, errors: [{ field: 'tds[0].host', message: 'unknown host "spr-a01"' }] });
  });

  it('reports every error with its JSON path and writes nothing', async () => {
    await importDocument(db, demoFleet(), 'MERGE');
    const before = await exportInventory(db);
    const bad = demoFleet();
    bad.hosts[3]!.platform = 'XYZ';
    bad.hosts[5]!.presentCpus = 999;
    bad.tds.push({ name: 'td-web-01', vcpus: 1, host: null, migratable: true, memoryMiB: null });
    bad.modules[0]!.platforms.push('NOPE');
    bad.kernels[1]!.kvmMaxVcpus = 8192;
    const res = await importDocument(db, bad, 'MERGE');
    expect(res.ok).toBe(false);
    const errors = res.ok ? [] : res.errors;
    expect(errors).toEqual(
      expect.arrayContaining([
        { field: 'hosts[3].platform', message: 'unknown platform "XYZ"' },
        { field: 'hosts[5].presentCpus', message: '999 present CPUs exceed the 256 logical CPUs of platform "EMR-2S"' },
        { field: 'tds[20].name', message: 'duplicate of tds[0] ("td-web-01")' },
        { field: 'modules[0].platforms[1]', message: 'unknown platform "NOPE"' },
      ]),
    );
    expect(errors.some((e) => e.field === 'kernels[1].kvmMaxVcpus')).toBe(true);
    expect(await exportInventory(db)).toEqual(before);
  });

  it('reports structural errors with JSON paths', async () => {
    const res = await importDocument(
      db,
      { hosts: [{ hostname: 'h', platform: 'P', kernel: 'k', presentCpus: 'many', guestKeyIds: 1, color: 'red' }], extra: 1 },
      'MERGE',
    );
    expect(res.ok).toBe(false);
    const paths = res.ok ? [] : res.errors.map((e) => e.field);
    expect(paths).toEqual(expect.arrayContaining(['extra', 'hosts[0].color', 'hosts[0].presentCpus']));
  });

  it('leaves nothing behind when the database refuses part of a valid-looking document', async () => {
    await importDocument(db, demoFleet(), 'MERGE');
    const before = await exportInventory(db);
    // The platform shrinks under hosts the document does not list: caught after writing, rolled back.
    const res = await importDocument(
      db,
      { platforms: [{ name: 'EMR-2S', sockets: 1, coresPerSocket: 8, threadsPerCore: 1 }], tds: [{ name: 'td-extra', vcpus: 1 }] },
      'MERGE',
    );
    expect(res.ok).toBe(false);
    expect(res.ok ? [] : res.errors.map((e) => e.message)).toContain('256 present CPUs would exceed the 8 logical CPUs of platform "EMR-2S"');
    expect(await exportInventory(db)).toEqual(before);
  });

  it('records an over-full host as it is', async () => {
    const doc = demoFleet();
    doc.tds.push(...Array.from({ length: 80 }, (_, i) => ({ name: `td-fill-${i}`, vcpus: 64, host: 'spr-a01', migratable: true, memoryMiB: 8192 })));
    const res = await importDocument(db, doc, 'MERGE');
    expect(res.ok).toBe(true);
  });
});
