import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../../src/db/adapter.js";
import type { Db } from "../../src/db/client.js";
import { diffDatabaseToSchema } from "../../src/db/migrations.js";
import {
  ensureSearchLanguage,
  readSearchLanguage,
  searchVectorStatements,
} from "../../src/db/search/language.js";
import { searchMessages } from "../../src/db/search/search.js";
import { type OpenTestDatabase, openTestDatabase, testDatabaseKinds } from "../utils/databases.js";
import { SearchQuery } from "../utils/search-operations.js";
import { startTestServer, tokenFor } from "../utils/server.js";

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

  /** The search columns' generation expressions and their indexes' definitions, storage parameters included. */
  async function searchDefinitions(): Promise<string[]> {
    const rows = await prisma.$queryRawUnsafe<{ definition: string }[]>(
      `SELECT pg_get_expr(d.adbin, d.adrelid) AS definition
         FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
        WHERE d.adrelid IN ('"Conversation"'::regclass, '"Message"'::regclass)
          AND a.attname IN ('searchVector', 'searchText')
       UNION ALL
       SELECT indexdef FROM pg_indexes
        WHERE indexname IN ('Conversation_searchVector_idx', 'Message_searchVector_text_idx')
       ORDER BY 1`,
    );
    return rows.map((row) => row.definition);
  }

  it("starts as generated english columns that schema.prisma agrees with", async () => {
    expect(await readSearchLanguage(prisma)).toBe("english");
    const generated = await prisma.$queryRawUnsafe<{ attgenerated: string }[]>(
      `SELECT attgenerated::text AS attgenerated FROM pg_attribute
        WHERE attrelid IN ('"Conversation"'::regclass, '"Message"'::regclass) AND attname = 'searchVector'`,
    );
    expect(generated.map((row) => row.attgenerated)).toEqual(["s", "s"]);
    expect(await schemaDiff()).toBe("");
  });

  it("rebuilds the search columns and indexes as the migrations made them", async () => {
    const migrated = await searchDefinitions();
    expect(migrated).toHaveLength(5);
    expect(migrated.join("\n")).toContain("gin_pending_list_limit='16384'");
    for (const statement of searchVectorStatements("english")) await prisma.$executeRawUnsafe(statement);
    expect(await searchDefinitions()).toEqual(migrated);
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
