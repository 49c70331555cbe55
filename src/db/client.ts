import type { Database } from "./adapter.js";
import { PrismaClient } from "./generated/prisma/client.js";

/** The application's Prisma client type. */
export type Db = ReturnType<typeof createPrismaClient>;

/** Observes every SQL statement the client sends (tests count them; debugging prints them). */
export type QueryListener = (event: { query: string; params: string; duration: number }) => void;

/**
 * Makes the one PrismaClient of a process over an opened database. Query events are always emitted so a
 * listener can be attached later; with none attached they cost next to nothing.
 */
export function createPrismaClient(database: Database) {
  return new PrismaClient({
    adapter: database.factory,
    // Errors reach the caller (and the error mask logs the unexpected ones), so only queries are emitted.
    log: [{ emit: "event", level: "query" }],
    // A burst of sends queues for the pool's connections: Prisma's default 2 s wait for one would fail
    // sends, and the final save of replies, that a moment's patience saves (measured: 1,000 sends at once).
    transactionOptions: { maxWait: 15_000, timeout: 20_000 },
    // A copy of the text kept for search's trigram index only (see schema.prisma): never read back.
    omit: { message: { searchText: true } },
  });
}

/** The cheapest statement: whether the database answers (the readiness probe). */
export async function pingDatabase(db: Db): Promise<void> {
  await db.$queryRaw`SELECT 1`;
}
