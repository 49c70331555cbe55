import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabaseKinds } from "../utils/databases.js";
import { ConversationsQuery, CreateConversation, MessagesQuery, SendMessage } from "../utils/operations.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { collect, yogaSSE } from "../utils/sse.js";
import { eventsOf } from "../utils/stream-events.js";
import { codes, endpoints, postGraphQL, rowCounts } from "./helpers.js";

// Text that means something to a database, a search parser or a browser is only text here: stored and
// returned exactly as sent, never interpreted. (Every query is parameterized by Prisma; these tests pin
// that down for the inputs an attacker controls.)

const HOSTILE = [
  '\'; DROP TABLE "Message"; --',
  '" OR 1=1 --',
  "admin'/*",
  "1; SELECT pg_sleep(10)",
  "$$ LANGUAGE plpgsql $$",
  "\\x00\\' \\\\",
  "a & b | !c <-> d:* ( ) ' :A",
  "<script>alert(document.cookie)</script>",
  '<img src=x onerror="alert(1)">',
  "&lt;b&gt; &amp; <mark>not ours</mark>",
  "emoji 👩‍💻 and RTL \u202e override",
];

describe.each(testDatabaseKinds())("hostile text on %s", (kind) => {
  let server: TestServer;
  let token: string;
  let user: string;
  beforeAll(async () => {
    server = await startTestServer(kind);
    user = `hostile-${randomUUID()}`;
    token = await tokenFor(user);
  });
  afterAll(() => server?.close());

  it.each(HOSTILE)("stores and returns the title %j verbatim", async (title) => {
    const created = await server.request(CreateConversation, { title }, token);
    expect(created.errors).toBeUndefined();
    expect(created.data?.createConversation.conversation.title).toBe(title.replace(/\s+/g, " ").trim());
  });

  it("keeps every table intact and lists exactly the conversations created", async () => {
    const list = await server.request(ConversationsQuery, { first: 100 }, token);
    expect(list.data?.conversations.totalCount).toBe(HOSTILE.length);
    const counts = await rowCounts(server.db.prisma);
    expect(counts.conversations).toBe(HOSTILE.length);
  });

  it("sends messages made of SQL, tsquery and HTML metacharacters and reads them back verbatim", async () => {
    const content = HOSTILE.join("\n");
    const results = await collect(
      yogaSSE(
        server.url,
        SendMessage,
        { input: { content, clientMessageId: '\'; DELETE FROM "Message" --' } },
        token,
      ),
    );
    const events = eventsOf(results);
    const created = events[0];
    expect(created).toMatchObject({ __typename: "MessageCreated", message: { role: "USER", content } });
    const conversationId = created?.__typename === "MessageCreated" ? created.message.conversation.id : "";
    const page = await server.request(MessagesQuery, { id: conversationId, first: 10 }, token);
    const stored = page.data?.conversation?.messages.edges[0]?.node;
    expect(stored?.content).toBe(content);
    expect(stored?.clientMessageId).toBe('\'; DELETE FROM "Message" --');
    // Returned as JSON text: the HTML is escaped by the JSON encoding the client parses, never rendered here.
    const raw = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query:
          "query($id: ID!) { conversation(id: $id) { messages(first: 1) { edges { node { content } } } } }",
        variables: { id: conversationId },
      }),
    });
    expect(raw.headers.get("content-type")).toMatch(/json/);
    expect(await raw.text()).toContain("<script>alert(document.cookie)</script>");
  });

  it("refuses metacharacters where an id or cursor is expected, with BAD_USER_INPUT", async () => {
    for (const value of ["' OR '1'='1", "1; DROP TABLE x", "<script>"]) {
      const byId = await server.request(MessagesQuery, { id: value, first: 1 }, token);
      expect(codes(byId)).toEqual(["BAD_USER_INPUT"]);
      const byCursor = await server.request(ConversationsQuery, { first: 1, after: value }, token);
      expect(codes(byCursor)).toEqual(["BAD_USER_INPUT"]);
    }
  });

  it("answers any cursor string with a page or BAD_USER_INPUT, never an internal error (property)", async () => {
    const cursors = fc.oneof(
      fc.string({ unit: "binary", maxLength: 60 }),
      fc.base64String({ maxLength: 80 }),
      fc.string({ maxLength: 40 }).map((s) => Buffer.from(`GPC:S:${s}`).toString("base64")),
      fc.string({ maxLength: 40 }).map((s) => Buffer.from(`GPC:J:${s}`).toString("base64")),
    );
    await fc.assert(
      fc.asyncProperty(cursors, fc.boolean(), async (cursor, backwards) => {
        const page = await server.request(
          ConversationsQuery,
          backwards ? { last: 2, before: cursor } : { first: 2, after: cursor },
          token,
        );
        for (const code of codes(page)) expect(code).toBe("BAD_USER_INPUT");
      }),
      { numRuns: 60 },
    );
  });

  it("searches with SQL and tsquery metacharacters as plain words: results or BAD_USER_INPUT, never an error", async () => {
    const before = await rowCounts(server.db.prisma);
    const query = `query($q: String!) { searchMessages(query: $q, first: 5) {
      edges { node { snippet message { content } } } } }`;
    for (const q of [...HOSTILE, "pg_sleep", "DROP", ":*", "!(", "<->", "a | b & !c"]) {
      for (const path of endpoints) {
        const answer = await postGraphQL(server, path, token, query, { q });
        const code = codes(answer.body);
        expect([q, code.length === 0 || code.every((c) => c === "BAD_USER_INPUT")]).toEqual([q, true]);
      }
    }
    expect(await rowCounts(server.db.prisma)).toEqual(before);
  });

  it("returns search snippets with the message's HTML escaped and only <mark> as markup", async () => {
    const query = `query($q: String!) { searchMessages(query: $q, first: 5) { edges { node { snippet } } } }`;
    const answer = await postGraphQL(server, "/graphql", token, query, { q: "alert document cookie" });
    const snippets = (
      (answer.body.data as { searchMessages: { edges: { node: { snippet: string } }[] } }).searchMessages
        .edges ?? []
    ).map((e) => e.node.snippet);
    expect(snippets.length).toBeGreaterThan(0);
    for (const snippet of snippets) {
      expect(snippet).toContain("<mark>");
      expect(snippet.replace(/<\/?mark>/g, "")).not.toMatch(/<[a-z/!]/i);
      expect(snippet).toContain("&lt;script&gt;");
    }
  });
});
