import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/db/adapter.js";
import {
  applyPendingMigrations,
  createMigration,
  diffDatabaseToSchema,
  type MigrationPaths,
  projectPaths,
  readMigrations,
} from "../../src/db/migrations.js";
import { createTestDatabase, type TestDatabase, testDatabaseKinds } from "../utils/databases.js";

const migrations = await readMigrations(projectPaths.migrations);
const names = migrations.map((m) => m.name);

/** The rows of `_prisma_migrations`, read through a connection of its own. */
async function migrationRows(database: Database) {
  const adapter = await database.factory.connect();
  try {
    const { rows } = await adapter.queryRaw({
      sql: "SELECT migration_name, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY migration_name",
      args: [],
      argTypes: [],
    });
    return rows.map(([name, finishedAt, rolledBackAt]) => ({
      name,
      finished: finishedAt !== null,
      rolledBack: rolledBackAt !== null,
    }));
  } finally {
    await adapter.dispose();
  }
}

/** A copy of the project's migrations folder, to add migrations to without touching the real one. */
async function copyOfMigrations(): Promise<MigrationPaths> {
  const dir = await mkdtemp(path.join(tmpdir(), "migrations-"));
  await cp(projectPaths.migrations, dir, { recursive: true });
  return { ...projectPaths, migrations: dir };
}

it("has migrations to test", () => {
  expect(names.length).toBeGreaterThan(0);
});

describe.each(testDatabaseKinds())("migrations on %s", (kind) => {
  let testDatabase: TestDatabase;
  let database: Database;

  beforeEach(async () => {
    testDatabase = await createTestDatabase(kind);
    database = await openDatabase(testDatabase.target);
  });
  afterEach(async () => {
    await database.close();
    await testDatabase.drop();
  });

  it("applies every migration, after which schema.prisma asks for nothing more", async () => {
    expect(await diffDatabaseToSchema(database)).toContain('CREATE TABLE "Conversation"');

    expect(await applyPendingMigrations(database)).toEqual(names);

    expect(await diffDatabaseToSchema(database)).toBe("");
  });

  it("applies nothing the second time", async () => {
    await applyPendingMigrations(database);

    expect(await applyPendingMigrations(database)).toEqual([]);
  });

  it("records each migration once in _prisma_migrations, finished", async () => {
    await applyPendingMigrations(database);
    await applyPendingMigrations(database);

    expect(await migrationRows(database)).toEqual(
      names.map((name) => ({ name, finished: true, rolledBack: false })),
    );
  });

  it("applies each migration once when two appliers start together", async () => {
    // On PostgreSQL a second pool is a second session, as another process would be; PGlite is one session.
    const other = kind === "postgres" ? await openDatabase(testDatabase.target) : database;
    try {
      const results = await Promise.all([applyPendingMigrations(database), applyPendingMigrations(other)]);

      expect(results.flat().sort()).toEqual(names);
      expect(results.some((applied) => applied.length === 0)).toBe(true);
      expect(await migrationRows(database)).toHaveLength(names.length);
    } finally {
      if (other !== database) await other.close();
    }
  });

  it("reports a failing migration and leaves it unfinished", async () => {
    const paths = await copyOfMigrations();
    try {
      const broken = "99999999999999_broken";
      await mkdir(path.join(paths.migrations, broken));
      await writeFile(
        path.join(paths.migrations, broken, "migration.sql"),
        'CREATE TABLE "Scratch" ("id" INTEGER);\nSELECT * FROM "NoSuchTable";\n',
      );

      await expect(applyPendingMigrations(database, paths)).rejects.toThrow(/NoSuchTable/);

      const rows = await migrationRows(database);
      expect(rows.at(-1)).toEqual({ name: broken, finished: false, rolledBack: false });
      expect(rows.slice(0, -1).every((row) => row.finished)).toBe(true);
    } finally {
      await rm(paths.migrations, { recursive: true, force: true });
    }
  });
});

describe("createMigration", () => {
  it("writes nothing when the migrations already match schema.prisma", async () => {
    const paths = await copyOfMigrations();
    try {
      expect(await createMigration("nothing", paths)).toBeNull();
      expect((await readMigrations(paths.migrations)).map((m) => m.name)).toEqual(names);
    } finally {
      await rm(paths.migrations, { recursive: true, force: true });
    }
  });

  it("writes the whole schema as the first migration, with the lock file", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "migrations-"));
    try {
      const created = await createMigration(
        "Initial Schema",
        { ...projectPaths, migrations: dir },
        new Date(Date.UTC(2025, 0, 2, 3, 4, 5)),
      );

      expect(created?.name).toBe("20250102030405_initial_schema");
      expect((await readdir(dir)).sort()).toEqual(["20250102030405_initial_schema", "migration_lock.toml"]);
      expect(await readFile(path.join(dir, "migration_lock.toml"), "utf8")).toContain(
        'provider = "postgresql"',
      );
      expect(
        await readFile(path.join(dir, "20250102030405_initial_schema", "migration.sql"), "utf8"),
      ).toContain('CREATE TABLE "Conversation"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
