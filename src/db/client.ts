import type { Database } from "./adapter.js";
import { DirectSql, type QueryListener } from "./direct-sql.js";
import { type Prisma, PrismaClient } from "./generated/prisma/client.js";

/** The application's Prisma client type. */
export type Db = ReturnType<typeof createPrismaClient>;

/** Each client's way past itself to its driver adapter, for the statements of a reply (see `DirectSql`). */
const direct = new WeakMap<object, DirectSql>();

/**
 * Makes the one PrismaClient of a process over an opened database. Query events are always emitted so a
 * listener can be attached later; with none attached they cost next to nothing.
 */
export function createPrismaClient(database: Database) {
  const client = new PrismaClient({
    adapter: database.factory,
    // Errors reach the caller (and the error mask logs the unexpected ones), so only queries are emitted.
    log: [{ emit: "event", level: "query" }],
    // A burst of sends queues for the pool's connections: Prisma's default 2 s wait for one would fail
    // sends, and the final save of replies, that a moment's patience saves (measured: 1,000 sends at once).
    transactionOptions: { maxWait: 15_000, timeout: 20_000 },
    // A copy of the text kept for search's trigram index only (see schema.prisma): never read back.
    omit: { message: { searchText: true } },
  });
  direct.set(client, new DirectSql(database.factory));
  return client;
}

/**
 * Runs one of a reply's statements (a send, a flush, an end): straight through the driver adapter when `db`
 * is a client made here, through `$queryRaw` otherwise (a transaction's client, whose statements must use
 * its connection).
 */
export function queryRows<T>(db: Pick<Db, "$queryRaw">, statement: Prisma.Sql): Promise<T[]> {
  return direct.get(db)?.query<T>(statement) ?? db.$queryRaw<T[]>(statement);
}

/** Tells `listener` of every statement `db` sends, through Prisma or straight to its adapter. */
export function onQuery(db: Db, listener: QueryListener): void {
  db.$on("query", listener);
  direct.get(db)?.onQuery(listener);
}

/** The cheapest statement: whether the database answers (the readiness probe). */
export async function pingDatabase(db: Db): Promise<void> {
  await db.$queryRaw`SELECT 1`;
}
