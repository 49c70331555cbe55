import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/db/adapter.js";
import { createPrismaClient, type Db } from "../../src/db/client.js";
import {
  createTestDatabase,
  postgresAdminUrl,
  type TestDatabase,
  testDatabaseKinds,
} from "../utils/databases.js";

/**
 * `work_mem` as each of `sessions` concurrent statements of the client sees it, and in how many distinct
 * sessions they ran (each holds its connection while it sleeps).
 */
async function workMemOfSessions(
  prisma: Db,
  sessions: number,
): Promise<{ values: string[]; backends: number }> {
  const rows = await Promise.all(
    Array.from(
      { length: sessions },
      () => prisma.$queryRaw<{ value: string; pid: number }[]>`
        SELECT current_setting('work_mem') AS value, pg_backend_pid() AS pid, pg_sleep(0.1)::text AS slept`,
    ),
  );
  return {
    values: rows.map(([row]) => row?.value ?? ""),
    backends: new Set(rows.map(([row]) => row?.pid)).size,
  };
}

// The search index's pending list is merged by whichever insert finds it full, with that session's
// work_mem: under PostgreSQL's default the merge took two passes (src/db/adapter.ts).
describe.each(testDatabaseKinds())("the application's sessions on %s", (kind) => {
  let testDatabase: TestDatabase | undefined;
  afterEach(async () => {
    await testDatabase?.drop();
  });

  it("have 16 MB of work_mem, on every connection and on connections opened later", async () => {
    testDatabase = await createTestDatabase(kind);
    const database = await openDatabase(testDatabase.target);
    const prisma = createPrismaClient(database);
    try {
      const sessions = kind === "postgres" ? 3 : 1;
      const expected = { values: Array(sessions).fill("16MB"), backends: sessions };
      expect(await workMemOfSessions(prisma, sessions)).toEqual(expected);
      if (kind === "postgres") {
        const [{ name } = { name: "" }] = await prisma.$queryRaw<{ name: string }[]>`
          SELECT current_database() AS name`;
        expect(await terminateConnections(name)).toBeGreaterThan(0);
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(await workMemOfSessions(prisma, sessions)).toEqual(expected);
      }
    } finally {
      await prisma.$disconnect();
      await database.close();
    }
  });
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

// PostgreSQL only: PGlite has no connections to lose.
describe("the PostgreSQL connection pool", () => {
  let testDatabase: TestDatabase | undefined;
  const uncaught: unknown[] = [];
  const record = (error: unknown) => uncaught.push(error);
  afterEach(async () => {
    process.off("uncaughtExceptionMonitor", record);
    await testDatabase?.drop();
  });

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

  it("keeps a larger work_mem that the database URL sets", async () => {
    testDatabase = await createTestDatabase("postgres");
    if (testDatabase.target.kind !== "postgres") throw new Error("a PostgreSQL target");
    const url = new URL(testDatabase.target.url);
    url.searchParams.set("options", "-c work_mem=64MB");
    const database = await openDatabase({ ...testDatabase.target, url: url.toString() });
    const prisma = createPrismaClient(database);
    try {
      expect(await workMemOfSessions(prisma, 2)).toEqual({ values: ["64MB", "64MB"], backends: 2 });
    } finally {
      await prisma.$disconnect();
      await database.close();
    }
  });
});
