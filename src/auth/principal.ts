// Who is asking. Kept apart from token handling so that the audit trail (which records the
// principal) and the token commands (which write to the audit trail) do not import each other.
import type { ApiRole } from '../generated/prisma/client.js';

export type { ApiRole };
export const API_ROLES: readonly ApiRole[] = ['VIEWER', 'PLANNER', 'ADMIN'];

/** A token's name and role. */
export interface Principal {
  /** The token's name, or a fixed name for the CLI and for a server run with auth off. */
  name: string;
  role: ApiRole;
}

const RANK: Record<ApiRole, number> = { VIEWER: 0, PLANNER: 1, ADMIN: 2 };

/** Each role includes the ones below it: an admin may do what a planner may. */
export function roleAllows(role: ApiRole, needed: ApiRole): boolean {
  return RANK[role] >= RANK[needed];
}

/** Who a write is recorded as when no one is named (library use, tests). */
export const SYSTEM_ACTOR: Principal = { name: 'system', role: 'ADMIN' };
