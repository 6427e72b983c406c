// The inventory document over GraphQL: the same contract as `tdplan import` / `tdplan export`.
import { ValidationError } from '../../errors.js';
import { exportInventory } from '../../inventory/export.js';
import { importInventory, type EntityCounts, type ImportCounts } from '../../commands/import-inventory.js';
import { builder } from '../builder.js';

const ImportModeEnum = builder.enumType('ImportMode', {
  description: 'How an inventory document meets the inventory.',
  values: {
    MERGE: { description: 'Upsert by natural key; entities the document does not list are kept.' },
    REPLACE: { description: 'The document becomes the whole inventory; entities it does not list are deleted.' },
  } as const,
});

const EntityCountsRef = builder.objectRef<EntityCounts>('EntityCounts').implement({
  description: 'Rows created, changed and deleted; unchanged rows are not counted.',
  fields: (t) => ({
    created: t.exposeInt('created', { description: 'New rows.' }),
    updated: t.exposeInt('updated', { description: 'Rows whose values changed.' }),
    deleted: t.exposeInt('deleted', { description: 'Rows removed (REPLACE only).' }),
  }),
});

const ImportCountsRef = builder.objectRef<ImportCounts>('ImportCounts').implement({
  description: 'What an import wrote, per kind of entity.',
  fields: (t) => ({
    platforms: t.field({ type: EntityCountsRef, description: 'Platforms.', resolve: (c) => c.platforms }),
    modules: t.field({ type: EntityCountsRef, description: 'TDX modules.', resolve: (c) => c.modules }),
    kernels: t.field({ type: EntityCountsRef, description: 'Kernels.', resolve: (c) => c.kernels }),
    hosts: t.field({ type: EntityCountsRef, description: 'Hosts.', resolve: (c) => c.hosts }),
    tds: t.field({ type: EntityCountsRef, description: 'TDs.', resolve: (c) => c.tds }),
  }),
});

builder.queryField('inventoryDocument', (t) =>
  t.field({
    type: 'JSONObject',
    description: 'The whole inventory as an inventory document (schemas/inventory.schema.json), in normalised order.',
    resolve: async (_root, _args, ctx) => ({ ...(await exportInventory(ctx.db)) }),
  }),
);

builder.mutationField('importInventory', (t) =>
  t.field({
    type: ImportCountsRef,
    description:
      'Imports an inventory document in one transaction. Any problem and nothing is written: every problem is returned in a ValidationError, its `field` the JSON path (e.g. `hosts[3].platform`).',
    errors: { types: [ValidationError], union: { name: 'ImportInventoryResult' }, result: { name: 'ImportInventorySuccess' } },
    args: {
      document: t.arg({ type: 'JSONObject', required: true }),
      mode: t.arg({ type: ImportModeEnum, defaultValue: 'MERGE' }),
    },
    resolve: (_root, args, ctx) => importInventory(ctx.db, ctx.principal, { document: args.document, mode: args.mode ?? 'MERGE' }),
  }),
);
