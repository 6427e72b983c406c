// How values reach a prepared statement (src/db/prepared-statements.ts) so that PostgreSQL keeps one
// generic plan for it instead of planning every execution. It keeps the generic plan only when that
// plan's estimated cost is no more than the custom plans' (planned with the values), so:
// - row counts are written into the text: with LIMIT $n it cannot cost a generic plan (it guesses
//   a tenth of the rows) and re-plans every time ("Prepared statements" in bench/README.md);
// - a value whose selectivity changes the estimate (the TD's vCPUs against the best-fit index) is
//   passed as a sub-select, which the planner reads as unknown in custom plans too: both cost the
//   same, and the generic plan wins. The candidate page's planning took 1.3 to 2 ms of every
//   request, its execution 0.5 ms ("Candidate pages on a generic plan" in bench/README.md).

/** A row count for LIMIT or OFFSET, as SQL: a whole number from 0 up, checked. */
export function sqlRowCount(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a row count: ${n}`);
  return String(n);
}

/** A placeholder (`$3`) the planner does not look into, as `(SELECT $3::int)`: same value, same plan for every value. */
export function planOpaque(placeholder: string, type: 'int' | 'bigint'): string {
  if (!/^\$\d+$/.test(placeholder)) throw new RangeError(`not a placeholder: ${placeholder}`);
  return `(SELECT ${placeholder}::${type})`;
}
