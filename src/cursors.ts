// One rule for every cursor the API hands out: a cursor is one this server could have issued (a
// Prisma connection's id or id pair, a placement candidate's fit key, an offset into a computed
// list), with every number a PostgreSQL integer. Anything else is refused with the same
// ValidationError (`after`/`before`: "is not a cursor of this list") whichever list it was given
// to; each list also refuses a well-formed cursor of another list the same way.
import { ValidationError } from './errors.js';

export const CURSOR_ARGUMENTS = ['after', 'before'] as const;
export type CursorArgument = (typeof CURSOR_ARGUMENTS)[number];
export const NOT_A_CURSOR = 'is not a cursor of this list';

const INT_MAX = 2_147_483_647;
// What the decoded text of each kind of cursor looks like (numbers checked for range below).
const CURSOR_FORMS = [
  /^GPC:N:(\d{1,10})$/, // @pothos/plugin-prisma, cursor: 'id'
  /^GPC:T:\["N:(\d{1,10})","N:(\d{1,10})"\]$/, // @pothos/plugin-prisma, a compound cursor of two ids
  /^fit:(-?\d{1,10}):(-?\d{1,10}):(\d{1,10})$/, // placement candidates (src/planning/placement.ts)
  /^offset:(\d{1,10})$/, // pages of computed lists (what-if answers)
];

export function invalidCursor(field: CursorArgument): ValidationError {
  return new ValidationError([{ field, message: NOT_A_CURSOR }]);
}

/** Whether `cursor` is one this server could have issued. */
export function isWellFormedCursor(cursor: unknown): boolean {
  if (typeof cursor !== 'string' || cursor.length > 200 || !/^[A-Za-z0-9+/_=-]+$/.test(cursor)) return false;
  const text = Buffer.from(cursor, 'base64').toString('utf8');
  for (const form of CURSOR_FORMS) {
    const m = form.exec(text);
    if (m) return m.slice(1).every((n) => Math.abs(Number(n)) <= INT_MAX);
  }
  return false;
}
