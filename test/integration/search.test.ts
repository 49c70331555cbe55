import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientError } from "../../src/core/errors.js";
import { type Db, onQuery } from "../../src/db/client.js";
import {
  type MessageSearchHit,
  type SearchMessagesArgs,
  searchMessages,
} from "../../src/db/search/search.js";
import { createTestDatabase, testDatabaseKinds } from "../utils/databases.js";
import { SearchPageQuery, SearchQuery } from "../utils/search-operations.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";

/** Messages of a conversation: text, and optionally when it was written (default: a second apart). */
type Seed = string | { content: string; at: Date };

/** Adds a conversation with the given messages for `ownerId`; returns its id and its messages' ids. */
async function addConversation(
  prisma: Db,
  ownerId: string,
  messages: Seed[],
  options: { title?: string; archived?: boolean } = {},
) {
  const base = Date.UTC(2025, 0, 1);
  const conversation = await prisma.conversation.create({
    data: {
      ownerId,
      title: options.title ?? "Untitled",
      archivedAt: options.archived ? new Date() : null,
      messageCount: messages.length,
    },
  });
  const ids: string[] = [];
  for (const [i, seed] of messages.entries()) {
    const { content, at } =
      typeof seed === "string" ? { content: seed, at: new Date(base + i * 1000) } : seed;
    const message = await prisma.message.create({
      data: {
        conversationId: conversation.id,
        ownerId,
        position: i + 1,
        role: i % 2 === 0 ? "USER" : "ASSISTANT",
        content,
        createdAt: at,
      },
    });
    ids.push(message.id);
  }
  return { id: conversation.id, messageIds: ids };
}

function codeOf(error: unknown): string {
  return error instanceof ClientError ? error.code : `not a ClientError: ${String(error)}`;
}

describe.each(testDatabaseKinds())("search on %s", (kind) => {
  let server: TestServer;
  let prisma: Db;

  beforeAll(async () => {
    server = await startTestServer(kind);
    prisma = server.db.prisma;
  });
  afterAll(() => server?.close());

  const user = () => `user-${randomUUID()}`;
  const search = (owner: string, args: SearchMessagesArgs) => searchMessages(prisma, owner, args);
  const contents = async (hits: MessageSearchHit[]) => {
    const rows = await prisma.message.findMany({ where: { id: { in: hits.map((h) => h.messageId) } } });
    const byId = new Map(rows.map((r) => [r.id, r.content]));
    return hits.map((h) => byId.get(h.messageId));
  };

  describe("matching and ranking", () => {
    it("ranks more relevant messages first, and equal ranks newest first", async () => {
      const owner = user();
      await addConversation(prisma, owner, [
        { content: "A note about the garden.", at: new Date("2025-01-01T00:00:00Z") },
        { content: "Garden, garden, garden: the garden plan.", at: new Date("2025-01-02T00:00:00Z") },
        { content: "Unrelated text about cooking.", at: new Date("2025-01-03T00:00:00Z") },
        { content: "A note about the garden!", at: new Date("2025-01-04T00:00:00Z") },
      ]);
      const { hits } = await search(owner, { query: "garden" });
      expect(await contents(hits)).toEqual([
        "Garden, garden, garden: the garden plan.",
        "A note about the garden!",
        "A note about the garden.",
      ]);
      expect(hits.map((h) => h.match)).toEqual(["WORDS", "WORDS", "WORDS"]);
      expect(hits[0]?.rank).toBeGreaterThan(hits[1]?.rank ?? 0);
      expect(hits[1]?.rank).toBe(hits[2]?.rank);
    });

    it("weighs a matching conversation title, and finds a conversation by its title alone", async () => {
      const owner = user();
      const rome = await addConversation(
        prisma,
        owner,
        ["Which museums should we see?", "The Vatican museums."],
        {
          title: "Trip to Rome",
        },
      );
      await addConversation(prisma, owner, ["Rome was not built in a day."], { title: "Proverbs" });
      await addConversation(prisma, owner, ["Lunch ideas"], { title: "Food" });

      const { hits } = await search(owner, { query: "rome" });
      expect(hits.map((h) => [h.match, h.conversationId])).toEqual([
        ["TITLE", rome.id],
        ["WORDS", expect.any(String)],
      ]);
      // The title stands for the conversation: its first message, the title as the snippet.
      expect(hits[0]?.messageId).toBe(rome.messageIds[0]);
      expect(hits[0]?.snippet).toBe("Trip to <mark>Rome</mark>");

      // A title match is the conversation's: a message's words must match on their own.
      expect((await search(owner, { query: "rome museums" })).hits).toEqual([]);
    });

    it("ranks a message above the same match elsewhere when its conversation's title matches too", async () => {
      const owner = user();
      const titled = await addConversation(
        prisma,
        owner,
        [{ content: "The museum was closed", at: new Date("2025-01-01T00:00:00Z") }],
        { title: "Museum visits" },
      );
      const plain = await addConversation(
        prisma,
        owner,
        [{ content: "The museum was closed", at: new Date("2025-03-01T00:00:00Z") }],
        { title: "Misc" },
      );
      const { hits } = await search(owner, { query: "museum" });
      expect(hits.map((h) => h.messageId)).toEqual([titled.messageIds[0], plain.messageIds[0]]);
      expect(hits[0]?.rank).toBeGreaterThan(hits[1]?.rank ?? Number.POSITIVE_INFINITY);
    });

    it("matches quoted phrases in order, excludes -words, and takes `or`", async () => {
      const owner = user();
      await addConversation(prisma, owner, [
        "The quick brown fox",
        "A brown and quick dog",
        "The fox is red",
        "Cats sleep all day",
      ]);
      expect(await contents((await search(owner, { query: '"quick brown"' })).hits)).toEqual([
        "The quick brown fox",
      ]);
      expect(await contents((await search(owner, { query: "fox -brown" })).hits)).toEqual(["The fox is red"]);
      expect((await contents((await search(owner, { query: "fox or cats" })).hits)).sort()).toEqual([
        "Cats sleep all day",
        "The fox is red",
        "The quick brown fox",
      ]);
      expect(await contents((await search(owner, { query: "quick brown" })).hits)).toHaveLength(2);
    });

    it("stems words in the configured language", async () => {
      const owner = user();
      await addConversation(prisma, owner, ["The children were running and jumping", "Nothing to see"]);
      const { hits } = await search(owner, { query: "run jumps" });
      expect(hits).toHaveLength(1);
      expect(hits[0]?.snippet).toBe("The children were <mark>running</mark> and <mark>jumping</mark>");
    });

    it("indexes a reply once it stops streaming, and follows later edits", async () => {
      const owner = user();
      const { messageIds } = await addConversation(prisma, owner, ["placeholder"]);
      const where = { id: messageIds[0] };
      await prisma.message.update({ where, data: { status: "STREAMING", content: "Photosynthesis in pla" } });
      // Whichever way the query is answered: ranked words, fragments, or stop words newest first.
      for (const query of ["photosynthesis", "synthes", "in"]) {
        const result = await search(owner, { query });
        expect(result.hits).toEqual([]);
        expect(await result.totalCount()).toBe(0);
      }
      await prisma.message.update({
        where,
        data: { status: "COMPLETE", content: "Photosynthesis in plants" },
      });
      expect((await search(owner, { query: "photosynthesis" })).hits).toHaveLength(1);
      await prisma.message.update({ where, data: { status: "CANCELLED", content: "Respiration in plants" } });
      expect((await search(owner, { query: "photosynthesis" })).hits).toEqual([]);
      expect((await search(owner, { query: "respiration" })).hits).toHaveLength(1);
    });
  });

  describe("fragments, identifiers and short terms (the text rule)", () => {
    it("finds fragments of words and of code identifiers, ranked after word matches", async () => {
      const owner = user();
      await addConversation(prisma, owner, [
        { content: "Deploying to Kubernetes today", at: new Date("2025-01-01T00:00:00Z") },
        { content: "Call getUserById(42) first", at: new Date("2025-01-02T00:00:00Z") },
        { content: "Got ERR_CONNECTION_REFUSED again", at: new Date("2025-01-03T00:00:00Z") },
        { content: "kube is short for it", at: new Date("2025-01-04T00:00:00Z") },
      ]);
      const kube = await search(owner, { query: "kube" });
      expect(await contents(kube.hits)).toEqual(["kube is short for it", "Deploying to Kubernetes today"]);
      expect(kube.hits.map((h) => h.match)).toEqual(["WORDS", "TEXT"]);
      expect(kube.hits[1]?.snippet).toBe("Deploying to <mark>Kube</mark>rnetes today");

      const byId = await search(owner, { query: "UserBy" });
      expect(byId.hits.map((h) => h.snippet)).toEqual(["Call get<mark>UserBy</mark>Id(42) first"]);
      expect(await contents((await search(owner, { query: "getUserById" })).hits)).toEqual([
        "Call getUserById(42) first",
      ]);
      expect(await contents((await search(owner, { query: "ERR_CONN" })).hits)).toEqual([
        "Got ERR_CONNECTION_REFUSED again",
      ]);
      expect(await contents((await search(owner, { query: "connection_refused" })).hits)).toEqual([
        "Got ERR_CONNECTION_REFUSED again",
      ]);
    });

    it("matches short terms as whole words, also stop words full-text search drops", async () => {
      const owner = user();
      await addConversation(prisma, owner, [
        "I write Go and C# code",
        "Good morning",
        "Is it on?",
        "Bit by bit",
      ]);
      expect(await contents((await search(owner, { query: "go" })).hits)).toEqual(["I write Go and C# code"]);
      expect(await contents((await search(owner, { query: "C#" })).hits)).toEqual(["I write Go and C# code"]);
      const it = await search(owner, { query: "it" });
      expect(await contents(it.hits)).toEqual(["Is it on?"]);
      expect(it.hits[0]?.snippet).toBe("Is <mark>it</mark> on?");
    });

    it("pages a stop-word search newest first, titles included, without loss or duplicates", async () => {
      const owner = user();
      const at = (minute: number) => new Date(Date.UTC(2025, 2, 1, 0, minute));
      // 30 messages with "it" (every third has none), ties on time so only the id orders them, a
      // conversation found by its title alone, one whose title matches but whose messages do too, and
      // an archived one.
      const seeds: Seed[] = Array.from({ length: 45 }, (_, i) => ({
        content: i % 3 === 2 ? `nothing here ${i}` : `is it done ${i}`,
        at: at(Math.floor(i / 2)),
      }));
      await addConversation(prisma, owner, seeds.slice(0, 25));
      await addConversation(prisma, owner, seeds.slice(25), { title: "Is it worth it" });
      const titleOnly = await addConversation(prisma, owner, [{ content: "a plain note", at: at(40) }], {
        title: "About it",
      });
      await addConversation(prisma, owner, [{ content: "it was archived", at: at(50) }], { archived: true });
      await addConversation(prisma, user(), ["it belongs to someone else"]);

      const all = await search(owner, { query: "it", first: 100 });
      expect(all.hits).toHaveLength(31);
      expect(await all.totalCount()).toBe(31);
      expect(all.hits[0]).toMatchObject({ messageId: titleOnly.messageIds[0], match: "TITLE", rank: 0 });
      expect(all.hits[0]?.snippet).toBe("About <mark>it</mark>");
      expect(all.hits.slice(1).every((h) => h.match === "TEXT" && h.rank === 0)).toBe(true);
      const order = all.hits.map((h) => [h.createdAt.getTime(), h.messageId] as const);
      const newestFirst = [...order].sort(([t1, id1], [t2, id2]) => t2 - t1 || (id2 > id1 ? 1 : -1));
      expect(order).toEqual(newestFirst);
      const withIt = seeds.flatMap((seed, i) =>
        i % 3 === 2 || typeof seed === "string" ? [] : [seed.content],
      );
      expect((await contents(all.hits.slice(1))).sort()).toEqual(withIt.sort());

      const paged: MessageSearchHit[] = [];
      let after: string | null = null;
      for (let page = 0; page < 20; page += 1) {
        const result = await search(owner, { query: "it", first: 4, after });
        paged.push(...result.hits);
        if (!result.hasNextPage) break;
        after = result.hits.at(-1)?.cursor ?? null;
      }
      expect(paged.map((h) => h.messageId)).toEqual(all.hits.map((h) => h.messageId));

      const archived = await search(owner, { query: "it", includeArchived: true, first: 100 });
      expect(await contents(archived.hits.slice(0, 1))).toEqual(["it was archived"]);
      expect(await archived.totalCount()).toBe(32);
      // A fragment that is also a stop word: found inside words, newest first.
      const other = await addConversation(prisma, owner, [{ content: "the other one", at: at(60) }]);
      const the = await search(owner, { query: "the" });
      expect(the.hits.map((h) => h.messageId)).toEqual(other.messageIds);
      expect(the.hits[0]?.snippet).toBe("<mark>the</mark> o<mark>the</mark>r one");
    });

    it("requires every term, honours exclusions, and stays off with `or`", async () => {
      const owner = user();
      await addConversation(prisma, owner, ["getUserById for users", "getUserById for orders", "fetchOrder"]);
      expect(await contents((await search(owner, { query: "UserBy users" })).hits)).toEqual([
        "getUserById for users",
      ]);
      // Exclusions are by word, stemmed: -order excludes "orders".
      expect(await contents((await search(owner, { query: "UserBy -order" })).hits)).toEqual([
        "getUserById for users",
      ]);
      expect((await search(owner, { query: "UserBy or tchOrd" })).hits).toEqual([]);
    });

    it("takes %, _ and backslashes literally", async () => {
      const owner = user();
      await addConversation(prisma, owner, [
        "100% sure",
        "1000 items",
        "snake_case_name",
        "bake cassava",
        "C:\\temp\\file",
        "plain words",
      ]);
      // Were % and _ wildcards, "1000 items" and "bake cassava" would match too.
      expect(await contents((await search(owner, { query: "100%" })).hits)).toEqual(["100% sure"]);
      expect(await contents((await search(owner, { query: "ake_cas" })).hits)).toEqual(["snake_case_name"]);
      expect(await contents((await search(owner, { query: "temp\\file" })).hits)).toEqual(["C:\\temp\\file"]);
      expect((await search(owner, { query: "%" })).hits).toEqual([]);
    });
  });

  describe("snippets", () => {
    it("escapes the message text and marks matches, for word and text matches alike", async () => {
      const owner = user();
      await addConversation(prisma, owner, [`<script>alert("pwned")</script> hello & welcome <b>friend</b>`]);
      const words = await search(owner, { query: "hello" });
      expect(words.hits[0]?.snippet).toBe(
        "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; <mark>hello</mark> &amp; welcome &lt;b&gt;friend&lt;/b&gt;",
      );
      const text = await search(owner, { query: "scrip" });
      expect(text.hits[0]?.match).toBe("TEXT");
      expect(text.hits[0]?.snippet).toBe(
        "&lt;<mark>scrip</mark>t&gt;alert(&quot;pwned&quot;)&lt;/<mark>scrip</mark>t&gt; hello &amp; welcome &lt;b&gt;friend&lt;/b&gt;",
      );
      for (const hit of [...words.hits, ...text.hits]) {
        expect(hit.snippet.replace(/<\/?mark>/g, "")).not.toMatch(/[<>"]/);
      }
    });

    it("shows passages around the matches of a long message", async () => {
      const owner = user();
      const filler = (name: string) => Array.from({ length: 80 }, (_, i) => `${name}${i}`).join(" ");
      await addConversation(prisma, owner, [`${filler("before")} the telescope arrived ${filler("after")}`]);
      const { hits } = await search(owner, { query: "telescope" });
      const snippet = hits[0]?.snippet ?? "";
      expect(snippet).toContain("<mark>telescope</mark>");
      expect(snippet.split(" ").length).toBeLessThanOrEqual(30);
      expect(snippet).not.toContain("before0 ");
      expect(snippet).not.toContain("after79");
    });
  });

  describe("paging", () => {
    it("pages through every result exactly once, in the order of a single page", async () => {
      const owner = user();
      const same = new Date("2025-02-01T00:00:00Z");
      const seeds: Seed[] = [];
      for (let i = 0; i < 37; i += 1) {
        // Ties on purpose: many equal ranks and equal timestamps, so only the id breaks them.
        const body = i % 3 === 0 ? "lantern lantern" : i % 3 === 1 ? "lantern" : "lanterns glow";
        seeds.push({ content: `${body} ${i}`, at: i % 2 === 0 ? same : new Date(same.getTime() + i) });
      }
      seeds.push("no match here");
      await addConversation(prisma, owner, seeds.slice(0, 20));
      await addConversation(prisma, owner, seeds.slice(20), { title: "Lantern festival" });
      await addConversation(prisma, owner, ["LANTERNFISH facts"]);

      const all = await search(owner, { query: "lantern", first: 100 });
      expect(all.hasNextPage).toBe(false);
      expect(all.hits).toHaveLength(38);
      expect(await all.totalCount()).toBe(38);

      const paged: MessageSearchHit[] = [];
      let after: string | null = null;
      for (let page = 0; page < 20; page += 1) {
        const result = await search(owner, { query: "lantern", first: 5, after });
        expect(await result.totalCount()).toBe(38);
        paged.push(...result.hits);
        if (!result.hasNextPage) break;
        after = result.hits.at(-1)?.cursor ?? null;
      }
      expect(paged.map((h) => h.messageId)).toEqual(all.hits.map((h) => h.messageId));
      expect(new Set(paged.map((h) => h.messageId)).size).toBe(38);
    });

    it("keeps its place when results are added before the cursor", async () => {
      const owner = user();
      await addConversation(prisma, owner, ["comet one", "comet two", "comet three", "comet four"]);
      const first = await search(owner, { query: "comet", first: 2 });
      await addConversation(prisma, owner, ["comet comet comet, the brightest"]);
      const rest = await search(owner, { query: "comet", first: 10, after: first.hits.at(-1)?.cursor });
      expect(rest.hits).toHaveLength(2);
      expect(new Set([...first.hits, ...rest.hits].map((h) => h.messageId)).size).toBe(4);
    });

    it("refuses page sizes above 100, garbage cursors and cursors of another search", async () => {
      const owner = user();
      await addConversation(prisma, owner, ["orbit", "orbit again"]);
      const page = await search(owner, { query: "orbit", first: 1 });
      const attempts: SearchMessagesArgs[] = [
        { query: "orbit", first: 101 },
        { query: "orbit", first: -1 },
        { query: "orbit", after: "not-a-cursor" },
        { query: "orbits", after: page.hits[0]?.cursor },
        { query: "orbit", includeArchived: true, after: page.hits[0]?.cursor },
      ];
      for (const args of attempts) {
        await expect(search(owner, args).catch(codeOf)).resolves.toBe("BAD_USER_INPUT");
      }
      // first: 0 asks only whether there are results, and how many.
      const none = await search(owner, { query: "orbit", first: 0 });
      expect({ hits: none.hits, hasNextPage: none.hasNextPage }).toEqual({ hits: [], hasNextPage: true });
      expect(await none.totalCount()).toBe(2);
    });
  });

  describe("scope", () => {
    it("never returns another user's messages", async () => {
      const [alice, bob] = [user(), user()];
      await addConversation(prisma, alice, ["secret marmalade recipe"], { title: "marmalade" });
      await addConversation(prisma, bob, ["my marmalade"]);
      for (const query of ["marmalade", "armala", "secret"]) {
        const { hits } = await search(bob, { query });
        const owners = await prisma.message.findMany({ where: { id: { in: hits.map((h) => h.messageId) } } });
        expect(owners.every((m) => m.ownerId === bob)).toBe(true);
      }
      expect((await search(bob, { query: "secret" })).hits).toEqual([]);
    });

    it("leaves archived conversations out unless asked, and searches one conversation", async () => {
      const owner = user();
      const open = await addConversation(prisma, owner, ["walrus facts"]);
      const archived = await addConversation(prisma, owner, ["walrus photos"], { archived: true });
      const ids = async (args: Omit<SearchMessagesArgs, "query">) =>
        (await search(owner, { query: "walrus", ...args })).hits.map((h) => h.conversationId).sort();
      expect(await ids({})).toEqual([open.id]);
      expect(await ids({ includeArchived: true })).toEqual([open.id, archived.id].sort());
      expect(await ids({ conversationId: archived.id })).toEqual([archived.id]);
      expect(await ids({ conversationId: open.id, includeArchived: true })).toEqual([open.id]);
    });
  });

  describe("malformed queries", () => {
    it("answers syntax-breaking queries with results, nothing or BAD_USER_INPUT, never a database error", async () => {
      const owner = user();
      await addConversation(prisma, owner, ["quote \" and 'apostrophe' and (parens) & pipes | here: 1:2"]);
      const queries = [
        '"unclosed',
        '""',
        "-",
        "--",
        "- -",
        "or",
        "or or or",
        "-or",
        "(",
        ")",
        "&",
        "|",
        "!",
        "!!",
        "<->",
        "<2>",
        "a:*",
        ":*",
        "'",
        "''",
        "\\",
        "\\'",
        "%",
        "_",
        "*",
        "$1",
        "😀",
        "a".repeat(256),
        "x ".repeat(128).trim(),
        "&lt;",
        "\u0000quote",
        "\ud800quote",
        "quote \"and 'apostrophe",
      ];
      for (const query of queries) {
        const outcome = await search(owner, { query }).then(
          () => "ok",
          (error: unknown) => codeOf(error),
        );
        expect([query, outcome]).toEqual([query, expect.stringMatching(/^(ok|BAD_USER_INPUT)$/)]);
      }
      expect((await search(owner, { query: "\u0000quote" })).hits).toHaveLength(1);
    });

    it("refuses empty, blank, over-long and exclusion-only queries with BAD_USER_INPUT", async () => {
      const owner = user();
      for (const query of ["", "   ", "\n\t", "\u0000", "x".repeat(257), "-only -exclusions"]) {
        await expect(search(owner, { query }).catch(codeOf)).resolves.toBe("BAD_USER_INPUT");
      }
    });
  });

  describe("GraphQL searchMessages", () => {
    it("returns the viewer's results with messages, conversations, snippets and cursors", async () => {
      const owner = user();
      const token = await tokenFor(owner);
      const { id } = await addConversation(prisma, owner, ["<i>zeppelin</i> ride", "Zeppelins float"], {
        title: "Airships",
      });
      await addConversation(prisma, user(), ["zeppelin of someone else"]);
      const response = await server.request(SearchQuery, { query: "zeppelin", first: 1 }, token);
      expect(response.errors).toBeUndefined();
      const connection = response.data?.searchMessages;
      expect(connection?.edges).toHaveLength(1);
      const node = connection?.edges[0]?.node;
      expect(node?.conversation.title).toBe("Airships");
      expect(node?.message.conversation.id).toBe(node?.conversation.id);
      expect(node?.match).toBe("WORDS");
      expect(node?.snippet).toMatch(/<mark>[Zz]eppelin/);
      expect(connection?.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
      expect(connection?.totalCount).toBe(2);

      const next = await server.request(
        SearchQuery,
        { query: "zeppelin", first: 5, after: connection?.pageInfo.endCursor },
        token,
      );
      expect(next.data?.searchMessages.edges).toHaveLength(1);
      expect(next.data?.searchMessages.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
      const contentsSeen = [node?.message.content, next.data?.searchMessages.edges[0]?.node.message.content];
      expect(contentsSeen.sort()).toEqual(["<i>zeppelin</i> ride", "Zeppelins float"]);

      const scoped = await server.request(
        SearchQuery,
        { query: "zeppelin", conversationId: connection?.edges[0]?.node.conversation.id },
        token,
      );
      expect(scoped.data?.searchMessages.edges).toHaveLength(2);
      expect(id).toBeTruthy();
    });

    it("answers bad input with BAD_USER_INPUT and another user's conversation with NOT_FOUND", async () => {
      const owner = user();
      const token = await tokenFor(owner);
      await addConversation(prisma, owner, ["nebula"]);
      const foreign = await server.request(SearchQuery, { query: "nebula" }, await tokenFor(user()));
      expect(foreign.data?.searchMessages.edges).toEqual([]);

      const other = user();
      await addConversation(prisma, other, ["nebula"]);
      const theirs = await server.request(SearchQuery, { query: "nebula", first: 1 }, await tokenFor(other));
      const theirConversation = theirs.data?.searchMessages.edges[0]?.node.conversation.id;
      const denied = await server.request(
        SearchQuery,
        { query: "nebula", conversationId: theirConversation },
        token,
      );
      expect(denied.errors?.map((e) => e.extensions?.code)).toEqual(["NOT_FOUND"]);

      for (const variables of [
        { query: "" },
        { query: "nebula", first: 101 },
        { query: "nebula", after: "x" },
      ]) {
        const bad = await server.request(SearchQuery, variables, token);
        expect(bad.errors?.map((e) => e.extensions?.code)).toEqual(["BAD_USER_INPUT"]);
      }
      const anonymous = await server.request(SearchQuery, { query: "nebula" }, null);
      expect(anonymous.errors?.map((e) => e.extensions?.code)).toEqual(["UNAUTHENTICATED"]);
    });

    it("counts a stop-word search only when totalCount is selected", async () => {
      const owner = user();
      const token = await tokenFor(owner);
      await addConversation(
        prisma,
        owner,
        Array.from({ length: 30 }, (_, i) => `is it ready ${i}`),
      );
      const statements: string[] = [];
      const listener = (e: { query: string }) => statements.push(e.query);
      onQuery(prisma, listener);
      const page = await server.request(SearchPageQuery, { query: "it", first: 10 }, token);
      expect(page.data?.searchMessages.edges).toHaveLength(10);
      expect(page.data?.searchMessages.pageInfo.hasNextPage).toBe(true);
      expect(statements.filter((q) => q.includes("count(*)"))).toEqual([]);

      const counted = await server.request(SearchQuery, { query: "it", first: 10 }, token);
      expect(counted.data?.searchMessages.totalCount).toBe(30);
      expect(statements.filter((q) => q.includes("count(*)"))).toHaveLength(1);
    });

    it("loads a page of 50 results in a fixed, small number of statements", async () => {
      const owner = user();
      const token = await tokenFor(owner);
      for (let i = 0; i < 5; i += 1) {
        await addConversation(
          prisma,
          owner,
          Array.from({ length: 10 }, (_, j) => `quasar note ${i}-${j}`),
        );
      }
      const statements: string[] = [];
      const listener = (e: { query: string }) => statements.push(e.query);
      onQuery(prisma, listener);
      const page = await server.request(SearchQuery, { query: "quasar", first: 50 }, token);
      expect(page.data?.searchMessages.edges).toHaveLength(50);
      const counted = statements.filter((q) => !/^(BEGIN|COMMIT|ROLLBACK)/i.test(q));
      // The search, then the page's messages (with their conversation) and conversations: no N+1.
      expect(counted.length).toBeLessThanOrEqual(4);
    });
  });
});

describe.each(testDatabaseKinds())("search on a C-collated %s database", (kind) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(kind, {}, { database: await createTestDatabase(kind, { locale: "C" }) });
  });
  afterAll(() => server?.close());

  it("is C-collated (where ILIKE and [:alnum:] know only ASCII)", async () => {
    const [database] = await server.db.prisma.$queryRaw<{ collate: string }[]>`
      SELECT datcollate AS collate FROM pg_database WHERE datname = current_database()`;
    expect(database?.collate).toBe("C");
  });

  it("folds accented capitals and counts accented letters as letters, as on any other collation", async () => {
    const owner = `user-${randomUUID()}`;
    const { messageIds } = await addConversation(server.db.prisma, owner, [
      "Notre ÉCOLE est fermée",
      "ÄRGER im BÜRO",
      "feliz año nuevo",
      "o sole mio",
      "Das Öl ist teuer",
    ]);
    const found = async (query: string) =>
      (await searchMessages(server.db.prisma, owner, { query })).hits.map((h) =>
        messageIds.indexOf(h.messageId),
      );
    expect(await found("école")).toEqual([0]);
    expect(await found("ärger")).toEqual([1]);
    expect(await found("büro")).toEqual([1]);
    expect(await found("ÜRO")).toEqual([1]);
    // Whole-word terms: `o` and `l` are not words inside `año` and `Öl`.
    expect(await found("o")).toEqual([3]);
    expect(await found("l")).toEqual([]);
  });
});
