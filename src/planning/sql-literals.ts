// Values written into a statement's text instead of passed as parameters. Only for row counts:
// with LIMIT $n PostgreSQL cannot cost a generic plan (it guesses a tenth of the rows), so a prepared
// statement (src/db/prepared-statements.ts) would be re-planned on every request; with a literal it
// keeps its generic plan. Measured in bench/README.md ("Prepared statements").

/** A row count for LIMIT or OFFSET, as SQL: a whole number from 0 up, checked. */
export function sqlRowCount(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a row count: ${n}`);
  return String(n);
}
