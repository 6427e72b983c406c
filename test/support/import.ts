// Tests import documents through the real import command and look at its outcome as a value:
// the counts, or every problem it refused the document for.
import { SYSTEM_ACTOR } from '../../src/auth/principal.js';
import { importInventory, type ImportCounts, type ImportMode } from '../../src/commands/import-inventory.js';
import type { Database } from '../../src/db/client.js';
import { ValidationError, type FieldProblem } from '../../src/errors.js';

export type ImportOutcome = { ok: true; counts: ImportCounts } | { ok: false; errors: FieldProblem[] };

export async function importDocument(db: Database, document: unknown, mode: ImportMode): Promise<ImportOutcome> {
  try {
    return { ok: true, counts: await importInventory(db, SYSTEM_ACTOR, { document, mode }) };
  } catch (err) {
    if (err instanceof ValidationError) return { ok: false, errors: [...err.problems] };
    throw err;
  }
}
