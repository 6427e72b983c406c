import type { Principal } from '../auth/principal.js';
import type { Database, PrismaClient } from '../db/client.js';

/** What every resolver gets: the database of this server (tests run several side by side) and who asks. */
export interface Context {
  db: Database;
  prisma: PrismaClient;
  /** The authenticated token (or the local principal when the server runs with auth off). */
  principal: Principal;
}
