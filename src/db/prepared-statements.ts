// Named (prepared) statements. An unnamed statement is parsed and planned by PostgreSQL on every
// request; a named one is parsed once per connection, and after five executions PostgreSQL may keep
// a generic plan and skip planning too. Measured on the bench fleet (bench/README.md, "Prepared
// statements"): one host by hostname, tdplan serve under load, PostgreSQL's CPU per request from
// 0.52-0.60 ms to 0.18-0.23 ms and throughput from 1,060-1,260 to 1,470-1,950 requests/s.
//
// A statement's name is a hash of its text, so the same text has the same name on every connection
// and two texts never share one. At most MAX_NAMED_STATEMENTS distinct texts are named per process
// (the first ones seen: the hot queries of a server come within its first requests), so a
// connection never holds more than that many prepared statements; any text after them runs unnamed,
// as every statement did before. PgBouncer in transaction mode (before 1.21, or without
// max_prepared_statements) cannot route named statements: DATABASE_PREPARED_STATEMENTS=off.
import { createHash } from 'node:crypto';

export const MAX_NAMED_STATEMENTS = 100;

/** Names statement texts: a stable name for each of the first `max` texts, '' (unnamed) after them. */
export class StatementNames {
  private readonly names = new Map<string, string>();

  constructor(private readonly max = MAX_NAMED_STATEMENTS) {}

  /** The name to prepare `sql` under, or '' to run it unnamed (pg sends '' as the unnamed statement). */
  nameFor(sql: string): string {
    const known = this.names.get(sql);
    if (known !== undefined) return known;
    if (this.names.size >= this.max) return '';
    const name = `tdplan_${createHash('sha256').update(sql).digest('hex').slice(0, 32)}`;
    this.names.set(sql, name);
    return name;
  }

  /** How many texts have a name. */
  get size(): number {
    return this.names.size;
  }
}

/** DATABASE_PREPARED_STATEMENTS: 'on' (default) or 'off'; anything else is refused. */
export function preparedStatementsSetting(raw: string | undefined): boolean {
  if (raw === undefined || raw === '' || raw === 'on') return true;
  if (raw === 'off') return false;
  throw new Error(`DATABASE_PREPARED_STATEMENTS must be "on" or "off", got ${JSON.stringify(raw)}`);
}
