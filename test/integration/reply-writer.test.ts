import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReplyWriter } from "../../src/agent/runs/reply-writer.js";
import { TextFlusher } from "../../src/agent/runs/text-flusher.js";
import { type Db, onQuery } from "../../src/db/client.js";
import { type Connection, connect } from "../../src/db/connect.js";
import { appendReplyTexts } from "../../src/db/replies.js";
import { createLogger } from "../../src/observability/logger.js";
import { createTestDatabase, type TestDatabase, testDatabaseKinds } from "../utils/databases.js";
import { waitFor } from "../utils/stream-events.js";

const INTERVAL_MS = 20;

/** A conversation with a reply being written (the conversation's running reply). */
async function streamingReply(prisma: Db) {
  const ownerId = `user-${randomUUID()}`;
  const id = randomUUID();
  const conversation = await prisma.conversation.create({
    data: { ownerId, title: "flushing", messageCount: 1, activeReplyId: id },
  });
  return prisma.message.create({
    data: {
      id,
      conversationId: conversation.id,
      ownerId,
      position: 1,
      role: "ASSISTANT",
      status: "STREAMING",
    },
  });
}

// The flusher and the reply writer alone, on a real database: what a crash would leave in the row, and
// what the end of a reply stores.
describe.each(testDatabaseKinds())("reply writes on %s", (kind) => {
  let database: TestDatabase;
  let connection: Connection;
  let flusher: TextFlusher;
  const stored = async (id: string) =>
    (await connection.prisma.message.findUniqueOrThrow({ where: { id } })).content;
  const flushed = (writer: ReplyWriter, id: string) =>
    waitFor(async () => (await stored(id)) === writer.content, 5_000);

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    connection = await connect(database.target, { migrate: true });
    flusher = new TextFlusher(connection.prisma, createLogger(), INTERVAL_MS);
  });
  afterAll(async () => {
    await connection?.close();
    await database?.drop();
  });

  it("appends only new text, keeps surrogate pairs whole, and stores the seq it covers", async () => {
    const { prisma } = connection;
    const message = await streamingReply(prisma);
    const writer = new ReplyWriter(prisma, message.id, flusher);
    const statements: string[] = [];
    onQuery(prisma, (e) => {
      if (/^UPDATE "public"\."Message" AS m/.test(e.query) && e.params.includes(message.id)) {
        statements.push(e.params);
      }
    });
    writer.append("Hello, ", 1);
    await flushed(writer, message.id);
    const emoji = "😀";
    // The first half of a surrogate pair waits for its second half.
    writer.append(`wide ${emoji.charAt(0)}`, 2);
    await waitFor(async () => (await stored(message.id)) === "Hello, wide ", 5_000);
    writer.append(`${emoji.charAt(1)} world ü`, 3);
    await flushed(writer, message.id);
    expect(await stored(message.id)).toBe(`Hello, wide ${emoji} world ü`);
    const row = await prisma.message.findUniqueOrThrow({ where: { id: message.id } });
    expect(row.lastSeq).toBe(3);
    // Each statement carried the text added since the one before, never the whole text again.
    const last = statements.at(-1) ?? "";
    expect(last).toContain(`${emoji} world ü`);
    expect(last).not.toContain("Hello");
  });

  it("saves streamed text with HOT updates: a flush writes no index entry", async () => {
    const { prisma } = connection;
    const message = await streamingReply(prisma);
    // Counted inside one transaction, whose own statistics PostgreSQL reports at once.
    const counts = await prisma.$transaction(async (tx) => {
      for (let i = 1; i <= 5; i++) {
        const written = await appendReplyTexts(tx as unknown as Db, [
          { messageId: message.id, text: `chunk ${i} `.repeat(40), at: -1, lastSeq: i, reasoning: null },
        ]);
        expect(written.has(message.id)).toBe(true);
      }
      const [row] = await tx.$queryRaw<{ updated: number; hot: number }[]>`
        SELECT pg_stat_get_xact_tuples_updated('"Message"'::regclass)::int AS updated,
               pg_stat_get_xact_tuples_hot_updated('"Message"'::regclass)::int AS hot`;
      return row;
    });
    // (Other tests' flushes may share the transaction's connection: every update counted must be HOT.)
    expect(counts?.updated).toBeGreaterThanOrEqual(5);
    expect(counts?.hot).toBe(counts?.updated);
    // Once the reply ends it is indexed for search (its search columns are filled).
    await prisma.message.update({ where: { id: message.id }, data: { status: "COMPLETE" } });
    const [indexed] = await prisma.$queryRaw<{ text: string | null }[]>`
      SELECT "searchText" AS text FROM "Message" WHERE id = ${message.id}::uuid`;
    expect(indexed?.text).toContain("chunk 5");
  });

  it("replaces the stored text whole when the row holds something else than the writer saved", async () => {
    const { prisma } = connection;
    const message = await streamingReply(prisma);
    const writer = new ReplyWriter(prisma, message.id, flusher);
    writer.append("first part. ", 1);
    await flushed(writer, message.id);
    // Written behind the writer's back (an append the writer thinks failed, say).
    await prisma.message.update({ where: { id: message.id }, data: { content: "first part. first part. " } });
    writer.append("second part.", 2);
    await flushed(writer, message.id);
    expect(await stored(message.id)).toBe("first part. second part.");
  });

  it("leaves a reply that is no longer streaming as it ended, and calls it lost", async () => {
    const { prisma } = connection;
    const message = await streamingReply(prisma);
    let lost = 0;
    const writer = new ReplyWriter(prisma, message.id, flusher, () => {
      lost += 1;
    });
    writer.append("some text", 1);
    await flushed(writer, message.id);
    await prisma.message.update({ where: { id: message.id }, data: { status: "FAILED", content: "final" } });
    writer.append(" more", 2);
    await waitFor(() => lost === 1, 5_000);
    expect(await stored(message.id)).toBe("final");
  });

  it("stores the end of a reply, returns it as stored, and frees the conversation", async () => {
    const { prisma } = connection;
    const message = await streamingReply(prisma);
    const writer = new ReplyWriter(prisma, message.id, flusher);
    writer.append("The whole answer.", 1);
    const usage = { promptTokens: 12, completionTokens: 4, totalTokens: 16 };
    const outcome = { status: "COMPLETE", error: null, usage, model: "m-1" } as const;
    const final = await writer.finish(outcome, 2, message.conversationId, []);
    const row = await prisma.message.findUniqueOrThrow({ where: { id: message.id } });
    expect(final).toEqual({ ...row, toolCalls: [] });
    expect(row).toMatchObject({ status: "COMPLETE", content: "The whole answer.", lastSeq: 2, model: "m-1" });
    expect(row).toMatchObject({ promptTokens: 12, completionTokens: 4, totalTokens: 16, error: null });
    const conversation = await prisma.conversation.findUniqueOrThrow({
      where: { id: message.conversationId },
    });
    expect(conversation.activeReplyId).toBeNull();
  });

  it("keeps the end another instance stored, and leaves the conversation to it", async () => {
    const { prisma } = connection;
    const message = await streamingReply(prisma);
    const writer = new ReplyWriter(prisma, message.id, flusher);
    writer.append("late text", 1);
    await prisma.message.update({
      where: { id: message.id },
      data: { status: "FAILED", error: "abandoned", content: "saved part" },
    });
    const outcome = { status: "COMPLETE", error: null, usage: null, model: "m-1" } as const;
    const final = await writer.finish(outcome, 2, message.conversationId, []);
    expect(final).toMatchObject({ status: "FAILED", error: "abandoned", content: "saved part" });
    const conversation = await prisma.conversation.findUniqueOrThrow({
      where: { id: message.conversationId },
    });
    expect(conversation.activeReplyId).toBe(message.id);
  });
});
