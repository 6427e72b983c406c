// Loads Prisma's official schema engine compiled to WebAssembly (@prisma/schema-engine-wasm)
// and connects it to PostgreSQL through @prisma/adapter-pg. The native engine that the Prisma
// CLI downloads cannot be fetched here; the wasm build is the same engine (same commit as
// @prisma/engines of our prisma version), so migrations and _prisma_migrations are Prisma's own.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as engineGlue from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { SchemaEngine } from '@prisma/schema-engine-wasm/schema_engine_bg';

let loaded: Promise<void> | undefined;

// The WebAssembly global as far as we use it (TypeScript's ES libs do not declare it).
interface WasmApi {
  instantiate(bytes: Uint8Array, imports: Record<string, unknown>): Promise<{ instance: { exports: Record<string, unknown> } }>;
}
const wasmApi = (): WasmApi => (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

// Node 20 cannot `import` a .wasm file, so instantiate it by hand with the glue module as its imports.
async function loadWasm(): Promise<void> {
  // createRequire rather than import.meta.resolve: vitest's module runner does not support the latter.
  const gluePath = createRequire(import.meta.url).resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const bytes = await readFile(gluePath.replace(/\.js$/, '.wasm'));
  const { instance } = await wasmApi().instantiate(bytes, { './schema_engine_bg.js': engineGlue });
  engineGlue.__wbg_set_wasm(instance.exports);
  (instance.exports as { __wbindgen_start: () => void }).__wbindgen_start();
}

type Adapter = Awaited<ReturnType<PrismaPg['connect']>>;

// @prisma/adapter-pg runs a migration script by splitting it on every ";", which breaks
// plpgsql function bodies (and semicolons in comments). PostgreSQL's simple query protocol runs
// a whole multi-statement script in one call, as the native schema engine does: use that.
function wholeScripts(factory: PrismaPg): PrismaPg {
  const patch = (adapter: Adapter): Adapter => {
    adapter.executeScript = async (script: string) => {
      await adapter.underlyingDriver().query(script);
    };
    return adapter;
  };
  return Object.assign(Object.create(factory) as PrismaPg, {
    connect: async () => patch(await factory.connect()),
    connectToShadowDb: async () => patch(await factory.connectToShadowDb()),
  });
}

export interface EngineHandle {
  engine: SchemaEngine;
  close(): Promise<void>;
}

/** An engine bound to the database at `connectionString`, with `datamodel` as its schema. */
export async function openSchemaEngine(connectionString: string, datamodel?: { path: string; content: string }): Promise<EngineHandle> {
  loaded ??= loadWasm();
  await loaded;
  // Our own pool, so close() can end it: freeing the engine leaves the adapter's connections open.
  const pool = new pg.Pool({ connectionString, max: 2 });
  pool.on('error', () => undefined);
  const adapterFactory = bindMigrationAwareSqlAdapterFactory(wholeScripts(new PrismaPg(pool)));
  const engine = await engineGlue.SchemaEngine.new(
    { datamodels: datamodel ? [[datamodel.path, datamodel.content]] : undefined },
    // The engine's tracing/log callback: its logs are not ours to print.
    () => undefined,
    adapterFactory,
  );
  return {
    engine,
    close: async () => {
      engine.free();
      await pool.end();
    },
  };
}
