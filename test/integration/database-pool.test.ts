import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/adapter.js";
import { createPrismaClient } from "../../src/db/client.js";
import { createTestDatabase, postgresAdminUrl, type TestDatabase } from "../utils/databases.js";

// PostgreSQL only: PGlite has no connections to lose.
describe("the PostgreSQL connection pool", () => {
  let testDatabase: TestDatabase | undefined;
  const uncaught: unknown[] = [];
  const record = (error: unknown) => uncaught.push(error);
  afterEach(async () => {
    process.off("uncaughtExceptionMonitor", record);
    await testDatabase?.drop();
  });

  /** Ends, from another session, every connection PostgreSQL has open to the database `name`. */
  async function terminateConnections(name: string): Promise<number> {
    const admin = new pg.Client({ connectionString: postgresAdminUrl });
    await admin.connect();
    try {
      const { rowCount } = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        [name],
      );
      return rowCount ?? 0;
    } finally {
      await admin.end();
    }
  }

  it("outlives idle connections that PostgreSQL ends, also once the client has disconnected", async () => {
    process.on("uncaughtExceptionMonitor", record);
    testDatabase = await createTestDatabase("postgres");
    const database = await openDatabase(testDatabase.target);
    const prisma = createPrismaClient(database);
    const [{ name } = { name: "" }] = await prisma.$queryRaw<{ name: string }[]>`
      SELECT current_database() AS name`;
    // Idle, with the client connected: the next statement opens another connection.
    expect(await terminateConnections(name)).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const [row] = await prisma.$queryRaw<{ one: number }[]>`SELECT 1 AS one`;
    expect(row?.one).toBe(1);
    // The client disconnected, the pool still open: its adapter no longer listens to the pool, as during a
    // shutdown, between the client's end and the pool's.
    await prisma.$disconnect();
    expect(await terminateConnections(name)).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await database.close();
    expect(uncaught).toEqual([]);
  });
});
