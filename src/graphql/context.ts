import type { Database, PrismaClient } from '../db/client.js';

/** What every resolver gets: the database of this server (tests run several side by side). */
export interface Context {
  db: Database;
  prisma: PrismaClient;
}
