import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/db/adapter.js";
import { createPrismaClient } from "../../src/db/client.js";
import {
  applyPendingMigrations,
  createMigration,
  diffDatabaseToSchema,
  type MigrationPaths,
  projectPaths,
  readMigrations,
} from "../../src/db/migrations.js";
import { createTestDatabase, type TestDatabase, testDatabaseKinds } from "../utils/databases.js";
import { seedConversation } from "../utils/seed.js";

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

  it("stores a finished reply of a few kB as it is: no compression tried below 8 kB", async () => {
    await applyPendingMigrations(database);
    const prisma = createPrismaClient(database);
    const conversation = await seedConversation(prisma, "u-toast", { messages: 2 });
    const reply = await prisma.message.findFirstOrThrow({
      where: { conversationId: conversation.id, role: "ASSISTANT" },
    });
    // Text that compresses well, three times on the row (content, "searchText", "searchVector"): 2 kB
    // would have PostgreSQL compress it.
    const content = "a reply that says the same thing again. ".repeat(60);
    await prisma.message.update({ where: { id: reply.id }, data: { content } });
    const [stored] = await prisma.$queryRaw<{ compression: string | null; content: string }[]>`
      SELECT pg_column_compression(content) AS compression, content FROM "Message" WHERE id = ${reply.id}::uuid`;
    expect(stored).toEqual({ compression: null, content });
    await prisma.$disconnect();
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

  it("turns existing linear conversations into chains, nothing lost", async () => {
    const trees = names.find((name) => name.endsWith("_conversation_trees"));
    expect(trees).toBeDefined();
    const paths = await copyOfMigrations();
    const prisma = createPrismaClient(database);
    try {
      // The database as it was before the trees: every migration up to theirs.
      await rm(path.join(paths.migrations, String(trees)), { recursive: true });
      for (const later of names.filter((name) => name > String(trees)))
        await rm(path.join(paths.migrations, later), { recursive: true });
      await applyPendingMigrations(database, paths);
      const a = "0196c0de-0000-7000-8000-00000000000a";
      const b = "0196c0de-0000-7000-8000-00000000000b";
      const empty = "0196c0de-0000-7000-8000-00000000000c";
      await prisma.$executeRawUnsafe(
        `INSERT INTO "Conversation" (id, "ownerId", title, "updatedAt", "messageCount")
         VALUES ('${a}', 'u1', 'A', now(), 3), ('${b}', 'u2', 'B', now(), 2), ('${empty}', 'u1', 'E', now(), 0)`,
      );
      await prisma.$executeRawUnsafe(
        `INSERT INTO "Message" (id, "conversationId", "ownerId", position, role, content, status, "updatedAt")
         VALUES ('0196c0de-0000-7000-8000-0000000000a1', '${a}', 'u1', 1, 'USER', 'hello', 'COMPLETE', now()),
                ('0196c0de-0000-7000-8000-0000000000a2', '${a}', 'u1', 2, 'ASSISTANT', 'hi', 'COMPLETE', now()),
                ('0196c0de-0000-7000-8000-0000000000a3', '${a}', 'u1', 3, 'USER', 'again', 'COMPLETE', now()),
                ('0196c0de-0000-7000-8000-0000000000b1', '${b}', 'u2', 1, 'USER', 'other', 'COMPLETE', now()),
                ('0196c0de-0000-7000-8000-0000000000b2', '${b}', 'u2', 2, 'ASSISTANT', 'cut', 'CANCELLED', now())`,
      );
      await prisma.$executeRawUnsafe(
        `INSERT INTO "ToolCall" (id, "messageId", position, "callId", server, name, arguments)
         VALUES ('0196c0de-0000-7000-8000-0000000000c1', '0196c0de-0000-7000-8000-0000000000a2', 0, 'call', 's',
                 'echo', '{}')`,
      );

      expect(await applyPendingMigrations(database)).toEqual(names.filter((name) => name >= String(trees)));

      const messages = await prisma.message.findMany({
        orderBy: [{ conversationId: "asc" }, { position: "asc" }],
        include: { toolCalls: true },
      });
      expect(
        messages.map((m) => [m.content, m.status, m.parentId?.slice(-2) ?? null, m.depth, m.siblingIndex]),
      ).toEqual([
        ["hello", "COMPLETE", null, 1, 0],
        ["hi", "COMPLETE", "a1", 2, 0],
        ["again", "COMPLETE", "a2", 3, 0],
        ["other", "COMPLETE", null, 1, 0],
        ["cut", "CANCELLED", "b1", 2, 0],
      ]);
      expect(messages.map((m) => [m.childCount, m.onActivePath])).toEqual([
        [1, true],
        [1, true],
        [0, true],
        [1, true],
        [0, true],
      ]);
      expect(messages[1]?.toolCalls.map((c) => c.name)).toEqual(["echo"]);
      const conversations = await prisma.conversation.findMany({ orderBy: { id: "asc" } });
      expect(
        conversations.map((c) => [c.title, c.activeLeafId?.slice(-2) ?? null, c.pathLength, c.rootCount]),
      ).toEqual([
        ["A", "a3", 3, 1],
        ["B", "b2", 2, 1],
        ["E", null, 0, 0],
      ]);
    } finally {
      await prisma.$disconnect();
      await rm(paths.migrations, { recursive: true, force: true });
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
