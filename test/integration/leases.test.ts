import { randomUUID } from "node:crypto";
import { encodeGlobalID } from "@pothos/plugin-relay";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ABANDONED_REPLY_ERROR, claimExpiredReplies, renewLeases } from "../../src/db/abandoned-replies.js";
import type { Db } from "../../src/db/client.js";
import { type Connection, connect } from "../../src/db/connect.js";
import { deferred, FakeOpenAI } from "../fixtures/fake-openai.js";
import { createTestDatabase, type TestDatabase, testDatabaseKinds } from "../utils/databases.js";
import { MessageStream, SendMessage } from "../utils/operations.js";
import { dropRedisPrefix, requireRedis, testRedisUrl, uniqueRedisPrefix } from "../utils/redis.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { yogaSSE } from "../utils/sse.js";
import { replyText, waitFor, watch } from "../utils/stream-events.js";

const LEASE_MS = 600;

/** A conversation whose reply was left streaming by an instance last heard of `ageMs` ago. */
async function abandonedReply(prisma: Db, ownerId: string, ageMs: number) {
  const replyId = randomUUID();
  const conversation = await prisma.conversation.create({
    data: { ownerId, title: "left behind", messageCount: 2, activeReplyId: replyId },
  });
  const common = { conversationId: conversation.id, ownerId };
  await prisma.message.create({ data: { ...common, position: 1, role: "USER", content: "hi" } });
  await prisma.message.create({
    data: {
      ...common,
      id: replyId,
      position: 2,
      role: "ASSISTANT",
      status: "STREAMING",
      content: "saved part",
      lastSeq: 7,
      heartbeatAt: new Date(Date.now() - ageMs),
    },
  });
  return { replyId, conversationId: conversation.id };
}

// The lease statements alone, on a database no server sweeps.
describe.each(testDatabaseKinds())("lease statements on %s", (kind) => {
  let database: TestDatabase;
  let connection: Connection;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    connection = await connect(database.target, { migrate: true });
  });
  afterAll(async () => {
    await connection?.close();
    await database?.drop();
  });

  it("claims only expired replies, once, and renewal keeps a reply alive", async () => {
    const { prisma } = connection;
    const old = await abandonedReply(prisma, "owner", 60_000);
    const fresh = await abandonedReply(prisma, "owner", 60_000);
    expect(await renewLeases(prisma, [fresh.replyId])).toBe(1);
    expect(await claimExpiredReplies(prisma, 30_000)).toEqual([{ id: old.replyId, lastSeq: 8 }]);
    expect(await claimExpiredReplies(prisma, 30_000)).toEqual([]);
    const rows = await prisma.message.findMany({
      where: { id: { in: [old.replyId, fresh.replyId] } },
      include: { conversation: { select: { activeReplyId: true } } },
    });
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(old.replyId)).toMatchObject({
      status: "FAILED",
      error: ABANDONED_REPLY_ERROR,
      content: "saved part",
      lastSeq: 8,
      conversation: { activeReplyId: null },
    });
    expect(byId.get(fresh.replyId)).toMatchObject({
      status: "STREAMING",
      lastSeq: 7,
      conversation: { activeReplyId: fresh.replyId },
    });
    // Only streaming replies are renewed.
    expect(await renewLeases(prisma, [old.replyId, fresh.replyId])).toBe(1);
  });
});

// Leases through a server in multi-instance mode (Redis configured), on both databases.
describe.each(testDatabaseKinds())("reply leases on %s", (kind) => {
  let server: TestServer;
  let fake: FakeOpenAI;
  const prefix = uniqueRedisPrefix();

  beforeAll(async () => {
    await requireRedis();
    fake = await new FakeOpenAI().start();
    server = await startTestServer(kind, {
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: "k",
      REDIS_URL: testRedisUrl,
      REDIS_KEY_PREFIX: prefix,
      RUN_LEASE_MS: String(LEASE_MS),
      FLUSH_INTERVAL_MS: "50",
    });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
    await dropRedisPrefix(prefix);
  });

  it("fails an abandoned reply within the lease and completes its followers after what was shared", async () => {
    const owner = `sweep-${randomUUID()}`;
    const token = await tokenFor(owner);
    const { replyId } = await abandonedReply(server.db.prisma, owner, 0);
    const follower = watch(
      yogaSSE(
        server.url,
        MessageStream,
        { messageId: encodeGlobalID("Message", replyId), afterSeq: 7 },
        token,
      ),
    );
    await follower.done;
    expect(follower.seen).toHaveLength(1);
    expect(follower.seen[0]).toMatchObject({
      __typename: "MessageCompleted",
      seq: 8,
      message: { status: "FAILED", content: "saved part", error: ABANDONED_REPLY_ERROR },
    });
    const conversation = await server.db.prisma.conversation.findFirstOrThrow({ where: { ownerId: owner } });
    expect(conversation.activeReplyId).toBeNull();
  });

  it("keeps the replies of this instance alive for many leases", async () => {
    const token = await tokenFor(`alive-${randomUUID()}`);
    const gate = deferred();
    fake.script({ chunks: [{ content: "slow " }, { content: "but alive", gate: gate.promise }] });
    const reply = watch(yogaSSE(server.url, SendMessage, { input: { content: "take your time" } }, token));
    await waitFor(() => replyText(reply.seen) === "slow ", 10_000, "first chunk");
    await new Promise((r) => setTimeout(r, 4 * LEASE_MS));
    gate.resolve();
    await reply.done;
    expect(reply.seen.at(-1)).toMatchObject({
      __typename: "MessageCompleted",
      message: { status: "COMPLETE", content: "slow but alive" },
    });
  });
});
