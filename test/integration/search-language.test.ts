import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/adapter.js";
import type { Db } from "../../src/db/client.js";
import { diffDatabaseToSchema, projectPaths, readMigrations } from "../../src/db/migrations.js";
import {
  ensureSearchLanguage,
  readSearchLanguage,
  searchVectorStatements,
} from "../../src/db/search/language.js";
import { searchMessages } from "../../src/db/search/search.js";
import { type OpenTestDatabase, openTestDatabase, testDatabaseKinds } from "../utils/databases.js";
import { SearchQuery } from "../utils/search-operations.js";
import { startTestServer, tokenFor } from "../utils/server.js";

const normalize = (sql: string) => sql.replace(/\s+/g, " ").trim();

it("rebuilds the search columns with the statements the migrations wrote by hand", async () => {
  const migrations = (await readMigrations(projectPaths.migrations)).filter((m) =>
    /_(search|search_any_collation|hot_flushes)$/.test(m.name),
  );
  expect(migrations).toHaveLength(3);
  const script = normalize(migrations.map((m) => m.sql).join("\n"));
  for (const statement of searchVectorStatements("english"))
    expect(script).toContain(`${normalize(statement)};`);
});

describe.each(testDatabaseKinds())("search language on %s", (kind) => {
  let opened: OpenTestDatabase;
  let database: Database;
  let prisma: Db;

  beforeAll(async () => {
    opened = await openTestDatabase(kind, { migrate: true });
    ({ database, prisma } = opened);
  });
  afterAll(() => opened?.close());

  async function seedHouse(ownerId: string) {
    const conversation = await prisma.conversation.create({
      data: { ownerId, title: "Wohnen", messageCount: 1 },
    });
    await prisma.message.create({
      data: {
        conversationId: conversation.id,
        ownerId,
        position: 1,
        role: "USER",
        content: "Die Häuser sind alt",
      },
    });
  }

  const schemaDiff = () => diffDatabaseToSchema(database);

  it("starts as generated english columns that schema.prisma agrees with", async () => {
    expect(await readSearchLanguage(prisma)).toBe("english");
    const generated = await prisma.$queryRawUnsafe<{ attgenerated: string }[]>(
      `SELECT attgenerated::text AS attgenerated FROM pg_attribute
        WHERE attrelid IN ('"Conversation"'::regclass, '"Message"'::regclass) AND attname = 'searchVector'`,
    );
    expect(generated.map((row) => row.attgenerated)).toEqual(["s", "s"]);
    expect(await schemaDiff()).toBe("");
  });

  it("refuses an unknown configuration, and a different one unless it may rebuild", async () => {
    await expect(ensureSearchLanguage(prisma, "klingon", { rebuild: true })).rejects.toThrow(
      /not a text-search configuration.*english/,
    );
    await expect(ensureSearchLanguage(prisma, "german", { rebuild: false })).rejects.toThrow(
      /use "english".*db:migrate/,
    );
    expect(await readSearchLanguage(prisma)).toBe("english");
  });

  it("rebuilds for another language, keeps the data, and the schema still agrees", async () => {
    const owner = `user-${randomUUID()}`;
    await seedHouse(owner);
    expect((await searchMessages(prisma, owner, { query: "Haus" })).hits).toEqual([]);

    expect(await ensureSearchLanguage(prisma, "german", { rebuild: true })).toEqual({
      from: "english",
      to: "german",
      rebuilt: true,
    });
    const { hits } = await searchMessages(prisma, owner, { query: "Haus" });
    expect(hits.map((h) => [h.match, h.snippet])).toEqual([["WORDS", "Die <mark>Häuser</mark> sind alt"]]);
    expect(await schemaDiff()).toBe("");
    expect((await ensureSearchLanguage(prisma, "german", { rebuild: true })).rebuilt).toBe(false);

    await ensureSearchLanguage(prisma, "english", { rebuild: true });
    expect(await readSearchLanguage(prisma)).toBe("english");
    expect((await searchMessages(prisma, owner, { query: "Haus" })).hits).toEqual([]);
  });

  it("follows SEARCH_LANGUAGE when the server starts", async () => {
    const server = await startTestServer(kind, { SEARCH_LANGUAGE: "german" });
    try {
      const owner = `user-${randomUUID()}`;
      const conversation = await server.db.prisma.conversation.create({
        data: { ownerId: owner, title: "Wohnen" },
      });
      await server.db.prisma.message.create({
        data: {
          conversationId: conversation.id,
          ownerId: owner,
          position: 1,
          role: "USER",
          content: "Alte Häuser",
        },
      });
      const response = await server.request(SearchQuery, { query: "haus" }, await tokenFor(owner));
      expect(response.data?.searchMessages.edges.map((e) => e.node.snippet)).toEqual([
        "Alte <mark>Häuser</mark>",
      ]);
    } finally {
      await server.close();
    }
  });
});
