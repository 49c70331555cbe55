import { randomBytes } from "node:crypto";
import pg from "pg";
import { it } from "vitest";
import { type Database, type DatabaseTarget, openDatabase } from "../../src/db/adapter.js";
import { createPrismaClient, type Db } from "../../src/db/client.js";
import { applyPendingMigrations } from "../../src/db/migrations.js";

/** The database kinds a suite runs against: `TEST_DATABASES=pglite,postgres` (default both). */
export type TestDatabaseKind = "pglite" | "postgres";

/** The kinds selected for this run. Both by default: a missing PostgreSQL fails the run, never skips. */
export function testDatabaseKinds(): TestDatabaseKind[] {
  const raw = process.env.TEST_DATABASES ?? "pglite,postgres";
  const kinds = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const k of kinds) {
    if (k !== "pglite" && k !== "postgres") throw new Error(`TEST_DATABASES: unknown kind "${k}"`);
  }
  return kinds as TestDatabaseKind[];
}

/**
 * Whether a suite that needs PostgreSQL whatever the kinds chosen (several server processes share one
 * database) may run. When `TEST_DATABASES` leaves PostgreSQL out, it registers a failing test that says so
 * instead: the suite is never skipped silently.
 */
export function suiteNeedsPostgres(suite: string): boolean {
  if (testDatabaseKinds().includes("postgres")) return true;
  it(`${suite}: needs PostgreSQL`, () => {
    throw new Error(
      `"${suite}" needs PostgreSQL, but TEST_DATABASES=${process.env.TEST_DATABASES} leaves it out: ` +
        "run it with TEST_DATABASES=postgres (or pglite,postgres)",
    );
  });
  return false;
}

/** Server URL of the PostgreSQL the tests use (trust auth on the CI machines). */
export const postgresAdminUrl = process.env.TEST_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/test";

/** A throwaway database: a fresh PostgreSQL database or an in-memory PGlite. */
export interface TestDatabase {
  readonly kind: TestDatabaseKind;
  readonly target: DatabaseTarget;
  /** Drops the database (PostgreSQL); PGlite's memory goes with its client. */
  drop(): Promise<void>;
}

/**
 * Creates an empty database of the given kind, named uniquely so parallel runs never collide. `locale: "C"`
 * makes a PostgreSQL database with the C collation and character classes; PGlite's is always C-collated.
 */
export async function createTestDatabase(
  kind: TestDatabaseKind,
  options: { locale?: "C" } = {},
): Promise<TestDatabase> {
  if (kind === "pglite") return { kind, target: { kind: "pglite", dataDir: null }, drop: async () => {} };
  const name = `chat_test_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  const locale = options.locale ? ` TEMPLATE template0 ENCODING 'UTF8' LOCALE '${options.locale}'` : "";
  await withAdmin((c) => c.query(`CREATE DATABASE "${name}"${locale}`));
  const url = new URL(postgresAdminUrl);
  url.pathname = `/${name}`;
  return {
    kind,
    target: { kind: "postgres", url: url.toString(), poolSize: 5 },
    drop: () => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  };
}

/** A throwaway database of the given kind, opened with the application's Prisma client. */
export interface OpenTestDatabase {
  readonly database: Database;
  readonly prisma: Db;
  /** Disconnects, closes and drops the database. */
  close(): Promise<void>;
}

/** Creates a throwaway database and opens it, with the migrations applied when `migrate`. */
export async function openTestDatabase(
  kind: TestDatabaseKind,
  options: { migrate: boolean },
): Promise<OpenTestDatabase> {
  const testDatabase = await createTestDatabase(kind);
  const database = await openDatabase(testDatabase.target);
  if (options.migrate) await applyPendingMigrations(database);
  const prisma = createPrismaClient(database);
  return {
    database,
    prisma,
    close: async () => {
      await prisma.$disconnect();
      await database.close();
      await testDatabase.drop();
    },
  };
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresAdminUrl, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`PostgreSQL at ${postgresAdminUrl} is unreachable: the postgres test suites need it`, {
      cause: error,
    });
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
