import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onQuery } from "../../src/db/client.js";
import { deferred, FakeOpenAI } from "../fixtures/fake-openai.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { seedConversation } from "../utils/seed.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";

// The seed's REST API (/api/...), replayed as its frontend used it: plain fetch, SSE read line by line.

/** The `data:` payloads of an SSE body, each event's lines joined as an SSE parser does. */
async function sseData(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim() !== "")
    .map((block) =>
      block
        .split("\n")
        .filter((line) => line.startsWith("data: "))
        .map((line) => line.slice("data: ".length))
        .join("\n"),
    );
}

describe.each(testDatabaseKinds())("REST API on %s", (kind) => {
  let server: TestServer;
  let fake: FakeOpenAI;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer(kind, { ...fake.serverEnv, FLUSH_INTERVAL_MS: "50" });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  async function asUser(user = `user-${randomUUID()}`) {
    const token = await tokenFor(user);
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
    return { user, call };
  }

  it("creates, streams into, lists, searches, renames and deletes a conversation", async () => {
    const { call } = await asUser();

    const created = await call("POST", "/api/conversations", { title: "Trip to Rome" });
    expect(created.status).toBe(200);
    const conversation = await created.json();
    expect(conversation).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      title: "Trip to Rome",
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });

    fake.script(FakeOpenAI.text(["Colosseum ", "at dawn,\nthen ", "pasta"]));
    const stream = await call(
      "POST",
      `/api/chat/stream?message=${encodeURIComponent("What to see?")}&conversation_id=${conversation.id}`,
    );
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(stream.headers.get("x-conversation-id")).toBe(conversation.id);
    // One `data:` line per delta as it reaches the stream (chunks that arrive together may come as one).
    const data = await sseData(stream);
    expect(data.at(-1)).toBe("[DONE]");
    expect(data.slice(0, -1).join("")).toBe("Colosseum at dawn,\nthen pasta");

    const page = await (await call("GET", `/api/conversations/${conversation.id}/messages`)).json();
    expect(page.has_more).toBe(false);
    expect(page.messages.map((m: { role: string; content: string }) => [m.role, m.content])).toEqual([
      ["user", "What to see?"],
      ["assistant", "Colosseum at dawn,\nthen pasta"],
    ]);
    expect(page.messages[1]).toEqual({
      id: stream.headers.get("x-message-id"),
      conversation_id: conversation.id,
      role: "assistant",
      content: "Colosseum at dawn,\nthen pasta",
      created_at: expect.any(String),
    });

    const list = await (await call("GET", "/api/conversations")).json();
    expect(list.map((c: { id: string }) => c.id)).toEqual([conversation.id]);

    const found = await (await call("GET", "/api/conversations/search?query=colosseum")).json();
    expect(found).toEqual([
      expect.objectContaining({
        id: conversation.id,
        title: "Trip to Rome",
        snippet: expect.stringContaining("<mark>"),
      }),
    ]);

    const renamed = await call("PATCH", `/api/conversations/${conversation.id}`, { title: "Rome" });
    expect((await renamed.json()).title).toBe("Rome");
    expect((await call("DELETE", `/api/conversations/${conversation.id}`)).status).toBe(204);
    const gone = await call("GET", `/api/conversations/${conversation.id}/messages`);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({ detail: expect.any(String) });
  });

  it("searches many conversations in a fixed number of statements, one entry per conversation", async () => {
    const { user, call } = await asUser();
    const prisma = server.db.prisma;
    for (let i = 0; i < 6; i += 1) {
      const c = await prisma.conversation.create({
        data: { ownerId: user, title: `Trip ${i}`, messageCount: 2 },
      });
      for (const position of [1, 2]) {
        await prisma.message.create({
          data: {
            conversationId: c.id,
            ownerId: user,
            position,
            role: position === 1 ? "USER" : "ASSISTANT",
            content: `nebula sighting ${i}.${position}`,
          },
        });
      }
    }
    const statements: string[] = [];
    onQuery(prisma, (e: { query: string }) => statements.push(e.query));
    const found: { id: string; title: string }[] = await (
      await call("GET", "/api/conversations/search?query=nebula")
    ).json();
    expect(found.map((f) => f.title).sort()).toEqual([
      "Trip 0",
      "Trip 1",
      "Trip 2",
      "Trip 3",
      "Trip 4",
      "Trip 5",
    ]);
    // The search, then the page's conversations at once: no statement per conversation.
    expect(statements.filter((q) => !/^(BEGIN|COMMIT|ROLLBACK)/i.test(q)).length).toBeLessThanOrEqual(3);
  });

  it("starts a new conversation when the stream names none", async () => {
    const { call } = await asUser();
    fake.script(FakeOpenAI.text(["Hi"]));

    const stream = await call("POST", "/api/chat/stream?message=hello");
    expect(await sseData(stream)).toEqual(["Hi", "[DONE]"]);

    const list = await (await call("GET", "/api/conversations")).json();
    expect(list).toEqual([
      expect.objectContaining({ id: stream.headers.get("x-conversation-id"), title: "hello" }),
    ]);
  });

  it("pages messages backwards with before, limit and has_more", async () => {
    const { user, call } = await asUser();
    const { id } = await seedConversation(server.db.prisma, user, { messages: 7 });

    const newest = await (await call("GET", `/api/conversations/${id}/messages?limit=3`)).json();
    expect(newest.messages.map((m: { content: string }) => m.content)).toEqual([
      "message 5",
      "message 6",
      "message 7",
    ]);
    expect(newest.has_more).toBe(true);
    const older = await (
      await call("GET", `/api/conversations/${id}/messages?limit=3&before=${newest.messages[0].id}`)
    ).json();
    expect(older.messages.map((m: { content: string }) => m.content)).toEqual([
      "message 2",
      "message 3",
      "message 4",
    ]);
    expect(older.has_more).toBe(true);
    const oldest = await (
      await call("GET", `/api/conversations/${id}/messages?limit=3&before=${older.messages[0].id}`)
    ).json();
    expect(oldest).toEqual({
      messages: [expect.objectContaining({ content: "message 1" })],
      has_more: false,
    });
  });

  it("keeps a reply running when the client goes away, and stops it on request", async () => {
    const { call } = await asUser();
    const gate = deferred();
    fake.script({ chunks: [{ content: "partial " }, { content: "never", gate: gate.promise }] });

    const stream = await call("POST", "/api/chat/stream?message=go");
    const id = stream.headers.get("x-conversation-id");
    const reader = stream.body?.getReader();
    const first = await reader?.read();
    expect(new TextDecoder().decode(first?.value)).toBe("data: partial \n\n");
    await reader?.cancel();

    const stopped = await call("POST", `/api/conversations/${id}/stop`);
    expect(stopped.status).toBe(200);
    expect(await stopped.json()).toMatchObject({ role: "assistant", content: "partial " });
    gate.resolve();
    const again = await call("POST", `/api/conversations/${id}/stop`);
    expect(again.status).toBe(409);
  });

  it("answers mistakes with FastAPI's statuses and {detail}, writing nothing", async () => {
    const { call } = await asUser();
    const other = await asUser();
    const theirs = await (await other.call("POST", "/api/conversations", { title: "Private" })).json();

    // A form post or a simple fetch of another site, which would carry ambient credentials: refused.
    const forged = await fetch(`${server.url}/api/chat/stream?message=hi`, { method: "POST" });
    expect(forged.status).toBe(403);
    expect(await forged.json()).toEqual({ detail: expect.stringMatching(/CSRF/) });
    const anonymous = await fetch(`${server.url}/api/conversations`, {
      headers: { "sec-fetch-site": "same-origin" },
    });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ detail: expect.any(String) });
    for (const [method, path, body] of [
      ["PATCH", `/api/conversations/${theirs.id}`, { title: "Mine now" }],
      ["DELETE", `/api/conversations/${theirs.id}`],
      ["GET", `/api/conversations/${theirs.id}/messages`],
      ["POST", `/api/chat/stream?message=hi&conversation_id=${theirs.id}`],
    ] as const) {
      const response = await call(method, path, body);
      expect([method, path, response.status]).toEqual([method, path, 404]);
      expect(await response.json()).toEqual({ detail: expect.any(String) });
    }
    const invalid = [
      ["GET", "/api/conversations/not-a-uuid/messages", undefined, ["path", "id"]],
      ["POST", "/api/chat/stream", undefined, ["query", "message"]],
      ["GET", "/api/conversations/search", undefined, ["query", "query"]],
      ["GET", "/api/conversations?limit=0", undefined, ["query", "limit"]],
      ["POST", "/api/conversations", "{not json", ["body"]],
      ["PATCH", `/api/conversations/${theirs.id}`, { name: "x" }, ["body", "title"]],
      // PostgreSQL cannot store U+0000: refused up front, like GraphQL's inputs.
      ["POST", "/api/conversations", { title: "a\u0000b" }, ["body", "title"]],
      ["PATCH", `/api/conversations/${theirs.id}`, { title: "\u0000" }, ["body", "title"]],
      ["POST", "/api/chat/stream?message=hi%00there", undefined, ["query", "message"]],
    ] as const;
    for (const [method, path, body, loc] of invalid) {
      const response = await call(method, path, body);
      expect([method, path, response.status]).toEqual([method, path, 422]);
      expect(await response.json()).toEqual({
        detail: [{ loc, msg: expect.any(String), type: "value_error" }],
      });
    }
    expect((await call("POST", "/api/conversations", { title: "x".repeat(500) })).status).toBe(422);
    expect((await call("GET", "/api/nothing-here")).status).toBe(404);
    expect((await call("PUT", "/api/conversations")).status).toBe(405);

    expect(await (await call("GET", "/api/conversations")).json()).toEqual([]);
    const theirsNow = await (await other.call("GET", "/api/conversations")).json();
    expect(theirsNow).toEqual([expect.objectContaining({ id: theirs.id, title: "Private" })]);
  });
});
