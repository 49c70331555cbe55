import { randomUUID } from "node:crypto";
import { decodeGlobalID } from "@pothos/plugin-relay";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ABANDONED_REPLY_ERROR } from "../../src/db/abandoned-replies.js";
import { openDatabase } from "../../src/db/adapter.js";
import { createPrismaClient } from "../../src/db/client.js";
import { deferred, FakeOpenAI } from "../fixtures/fake-openai.js";
import { createTestDatabase, suiteNeedsPostgres, type TestDatabase } from "../utils/databases.js";
import {
  CreateConversation,
  DeleteConversation,
  MessageStream,
  RenameConversation,
  SendMessage,
  StopGeneration,
} from "../utils/operations.js";
import { type ServerProcess, startServerProcess } from "../utils/process.js";
import {
  dropRedisPrefix,
  requireRedis,
  startOwnRedis,
  testRedisUrl,
  uniqueRedisPrefix,
} from "../utils/redis.js";
import { requestAt, TEST_JWT_SECRET, tokenFor } from "../utils/server.js";
import { collect, graphqlSSE, sseClient, yogaSSE } from "../utils/sse.js";
import {
  eventsOf,
  increasing,
  isCompleted,
  replyText,
  type StreamEvent,
  waitFor,
  watch,
} from "../utils/stream-events.js";
import { readViewerEvents, type ViewerEvent } from "../utils/viewer-event-operations.js";

// Several server processes on one PostgreSQL and one Redis, as behind a load balancer: a reply running
// on one instance is followed, resumed, stopped and recovered from another. PostgreSQL only: PGlite is
// one process's database.

type Created = Extract<StreamEvent, { __typename: "MessageCreated" }>;

const LEASE_MS = 1_500;

/** Reads a subscription in the background: `seen` fills as events arrive; `done` resolves with them all. */
function reading(stream: Parameters<typeof watch>[0]) {
  const watched = watch(stream);
  return { seen: watched.seen, done: watched.done.then(() => watched.seen) };
}

function send(
  url: string,
  token: string,
  input: { content: string; conversationId?: string; clientMessageId?: string },
) {
  return reading(yogaSSE(url, SendMessage, { input }, token));
}

function follow(url: string, token: string, messageId: string, afterSeq: number | null) {
  return reading(yogaSSE(url, MessageStream, { messageId, afterSeq }, token));
}

function assistantOf(events: StreamEvent[]) {
  const assistant = events.filter((e): e is Created => e.__typename === "MessageCreated")[1];
  if (!assistant) throw new Error("no assistant MessageCreated");
  return assistant.message;
}

/**
 * Seqs from `first` on, strictly increasing: no duplicate, no going back. A run of deltas may reach a reader
 * merged into one event (its seq the run's last), so a seq may skip; the tests compare the texts too.
 */
function expectExact(events: StreamEvent[], first: number) {
  const seqs = events.map((e) => e.seq);
  expect(seqs[0]).toBeGreaterThanOrEqual(first);
  expect(increasing(seqs)).toBe(true);
}

function instanceEnv(database: TestDatabase, fake: FakeOpenAI, redisUrl: string, prefix: string) {
  if (database.target.kind !== "postgres") throw new Error("the multi-instance suites need PostgreSQL");
  return {
    DATABASE_URL: database.target.url,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    RUN_LEASE_MS: String(LEASE_MS),
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: "k",
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    FLUSH_INTERVAL_MS: "50",
  };
}

/** Followers that attached on the instance at `url` so far, as its metrics count them. */
async function attachedFollowers(url: string): Promise<number> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const count = /^chat_followers_attached_total (\d+)$/m.exec(metrics)?.[1];
  if (count === undefined) throw new Error("chat_followers_attached_total missing from /metrics");
  return Number(count);
}

/** How many instances listen on a user's events channel (one Redis subscription per instance). */
async function userChannelListeners(prefix: string, user: string): Promise<number> {
  const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 1 });
  try {
    const [, count] = (await redis.pubsub("NUMSUB", `${prefix}user:${user}`)) as [string, number];
    return count;
  } finally {
    redis.disconnect();
  }
}

const typenames = (events: ViewerEvent[]) => events.map((e) => e.__typename);

async function readReply(database: TestDatabase, globalId: string) {
  const { id } = decodeGlobalID(globalId);
  const db = await openDatabase(database.target);
  const prisma = createPrismaClient(db);
  try {
    return await prisma.message.findUniqueOrThrow({
      where: { id },
      include: { conversation: { select: { activeReplyId: true } } },
    });
  } finally {
    await prisma.$disconnect();
    await db.close();
  }
}

// Starting a server process takes seconds, many on a busy machine: generous per-test limits.
const SEVERAL_INSTANCES = "several instances on PostgreSQL and Redis";
describe.runIf(suiteNeedsPostgres(SEVERAL_INSTANCES))(SEVERAL_INSTANCES, { timeout: 90_000 }, () => {
  let fake: FakeOpenAI;
  let database: TestDatabase;
  const prefix = uniqueRedisPrefix();
  let a: ServerProcess;
  let b: ServerProcess;
  let env: ReturnType<typeof instanceEnv>;

  beforeAll(async () => {
    await requireRedis();
    fake = await new FakeOpenAI().start();
    database = await createTestDatabase("postgres");
    env = instanceEnv(database, fake, testRedisUrl, prefix);
    // One at a time: the first applies the migrations.
    a = await startServerProcess(env);
    b = await startServerProcess(env);
  }, 120_000);
  afterAll(async () => {
    for (const server of [a, b]) {
      if (server && server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill("SIGTERM");
        await server.exited;
      }
    }
    await fake?.close();
    await database?.drop();
    await dropRedisPrefix(prefix);
  });

  it("resumes on B a reply running on A, exactly, from any afterSeq", async () => {
    const token = await tokenFor(`resume-${randomUUID()}`);
    const gate = deferred();
    const parts = Array.from({ length: 12 }, (_, i) => `w${i} `);
    fake.script({
      chunks: parts.map((content, i) => ({ content, gate: i === 6 ? gate.promise : undefined })),
      usage: { prompt_tokens: 5, completion_tokens: 12, total_tokens: 17 },
    });
    const onA = send(a.url, token, { content: "resume me elsewhere" });
    await waitFor(() => replyText(onA.seen) === parts.slice(0, 6).join(""), 15_000, "first half on A");
    const id = assistantOf(onA.seen).id;
    // Resume points before, at and inside the stream; 0 replays from the start (both created events).
    const points = [0, 1, 2, 5, onA.seen.at(-1)?.seq ?? 0];
    const attachedBefore = await attachedFollowers(b.url);
    const followers = points.map((afterSeq) => follow(b.url, token, id, afterSeq));
    // One more over the graphql-sse protocol, without afterSeq.
    const client = sseClient(b.url, token, false);
    const viaProtocol = collect(graphqlSSE(client, MessageStream, { messageId: id }), isCompleted);
    // Every follower subscribed and caught up (the one resumed at the newest event receives nothing to
    // show it) before the rest of the reply is written.
    await waitFor(
      async () => (await attachedFollowers(b.url)) === attachedBefore + followers.length + 1,
      15_000,
      "followers attached on B",
    );
    gate.resolve();

    const sent = await onA.done;
    expect(sent.at(-1)).toMatchObject({
      __typename: "MessageCompleted",
      message: { status: "COMPLETE", content: parts.join("") },
    });
    expectExact(sent, 1);
    for (const [i, follower] of followers.entries()) {
      const afterSeq = points[i] as number;
      const events = await follower.done;
      // Seq k >= 3 is the (k-2)th chunk: what follows afterSeq, exactly, whichever events carried it.
      expect(replyText(events), `afterSeq ${afterSeq}`).toBe(parts.slice(Math.max(afterSeq - 2, 0)).join(""));
      expect(events.at(-1)).toEqual(sent.at(-1));
      expectExact(events, afterSeq + 1);
    }
    const protocolEvents = eventsOf(await viaProtocol);
    expect(protocolEvents.at(-1)).toEqual(sent.at(-1));
    expectExact(protocolEvents, 1);
    expect(replyText(protocolEvents)).toBe(parts.join(""));
    client.dispose();

    // Finished: any instance answers MessageCompleted at once.
    for (const url of [a.url, b.url]) {
      const after = await follow(url, token, id, 3).done;
      expect(after).toHaveLength(1);
      expect(after[0]).toMatchObject({ __typename: "MessageCompleted", seq: sent.at(-1)?.seq });
    }
  });

  it("stops from B a reply running on A", async () => {
    const token = await tokenFor(`stop-${randomUUID()}`);
    const gate = deferred();
    fake.script({
      chunks: [{ content: "partial " }, { content: "answer" }, { content: " never", gate: gate.promise }],
    });
    const onA = send(a.url, token, { content: "stop me from elsewhere" });
    await waitFor(() => replyText(onA.seen) === "partial answer", 15_000, "text on A");
    const id = assistantOf(onA.seen).id;
    const stopped = await requestAt(b.url, StopGeneration, { messageId: id }, token);
    expect(stopped.errors).toBeUndefined();
    expect(stopped.data?.stopGeneration.message).toMatchObject({
      status: "CANCELLED",
      content: "partial answer",
    });
    const events = await onA.done;
    expect(events.at(-1)).toMatchObject({
      __typename: "MessageCompleted",
      message: { status: "CANCELLED", content: "partial answer" },
    });
    gate.resolve();
    expect(await readReply(database, id)).toMatchObject({
      status: "CANCELLED",
      content: "partial answer",
      conversation: { activeReplyId: null },
    });
  });

  it("holds one running reply per conversation and one reply per clientMessageId across instances", async () => {
    const token = await tokenFor(`idem-${randomUUID()}`);
    fake.script(FakeOpenAI.text(["first"]));
    const first = await send(a.url, token, { content: "start a conversation" }).done;
    const conversationId = assistantOf(first).conversation.id;

    const gate = deferred();
    fake.script({ chunks: [{ content: "only " }, { content: "once", gate: gate.promise }] });
    const input = { content: "same key twice", conversationId, clientMessageId: `key-${randomUUID()}` };
    const [onA, onB] = [send(a.url, token, input), send(b.url, token, input)];
    await waitFor(() => onA.seen.length >= 2 && onB.seen.length >= 2, 15_000, "both attached");
    // Meanwhile a different message is refused on either instance: one reply runs in this conversation.
    for (const url of [a.url, b.url]) {
      const refused = await collect(
        yogaSSE(url, SendMessage, { input: { content: "other", conversationId } }, token),
      );
      expect(refused[0]?.errors?.[0]?.extensions?.code).toBe("CONFLICT");
    }
    gate.resolve();
    const [ea, eb] = [await onA.done, await onB.done];
    expect(assistantOf(ea).id).toBe(assistantOf(eb).id);
    expect(ea).toEqual(eb);
    expect(replyText(ea)).toBe("only once");
    expect(fake.requests.filter((r) => r.body.messages.at(-1)?.content === "same key twice")).toHaveLength(1);
  });

  it("stops a reply running on A when B deletes its conversation", async () => {
    const token = await tokenFor(`delete-${randomUUID()}`);
    const gate = deferred();
    fake.script({ chunks: [{ content: "doomed" }, { content: " never", gate: gate.promise }] });
    const onA = send(a.url, token, { content: "delete me elsewhere" });
    await waitFor(() => replyText(onA.seen) === "doomed", 15_000, "text on A");
    const conversationId = assistantOf(onA.seen).conversation.id;
    const deleted = await requestAt(b.url, DeleteConversation, { id: conversationId }, token);
    expect(deleted.data?.deleteConversation.deletedId).toBe(conversationId);
    const events = await onA.done;
    expect(events.at(-1)).toMatchObject({
      __typename: "MessageCompleted",
      message: { status: "CANCELLED" },
    });
    gate.resolve();
  });

  it("keeps a reply running on A alive while other instances start and sweep", async () => {
    const token = await tokenFor(`lease-${randomUUID()}`);
    const gate = deferred();
    fake.script({
      chunks: [{ content: "still " }, { content: "running" }, { content: " fine", gate: gate.promise }],
    });
    const onA = send(a.url, token, { content: "outlive the lease" });
    await waitFor(() => replyText(onA.seen) === "still running", 15_000, "text on A");
    // A new instance's startup recovery, then two leases' worth of sweeps on B and C: A's heartbeats hold.
    const c = await startServerProcess(env);
    await new Promise((r) => setTimeout(r, 2 * LEASE_MS));
    gate.resolve();
    const events = await onA.done;
    expect(events.at(-1)).toMatchObject({
      __typename: "MessageCompleted",
      message: { status: "COMPLETE", content: "still running fine" },
    });
    c.child.kill("SIGTERM");
    expect(await c.exited).toBe(0);
  });

  it("tells every tab of a user, on either instance, every change made on either, and another user none", async () => {
    const alice = `alice-${randomUUID()}`;
    const bob = `bob-${randomUUID()}`;
    const [aliceToken, bobToken] = await Promise.all([tokenFor(alice), tokenFor(bob)]);
    // Two of Alice's tabs on A (one Redis subscription between them), one on B; Bob on both.
    const tabs = [
      await readViewerEvents(a.url, aliceToken),
      await readViewerEvents(a.url, aliceToken),
      await readViewerEvents(b.url, aliceToken),
    ];
    const others = [await readViewerEvents(a.url, bobToken), await readViewerEvents(b.url, bobToken)];
    try {
      expect(await userChannelListeners(prefix, alice)).toBe(2);
      const gate = deferred();
      fake.script({ chunks: [{ content: "on " }, { content: "A", gate: gate.promise }] });
      const created = await requestAt(a.url, CreateConversation, { title: "made on A" }, aliceToken);
      const id = created.data?.createConversation.conversation.id as string;
      const sending = send(a.url, aliceToken, { content: "hello", conversationId: id });
      await waitFor(() => tabs.every((t) => t.seen.length >= 3), 15_000, "the reply starting, in every tab");
      const renamed = await requestAt(b.url, RenameConversation, { id, title: "renamed on B" }, aliceToken);
      expect(renamed.errors).toBeUndefined();
      await waitFor(() => tabs.every((t) => t.seen.length >= 4), 15_000, "the rename, in every tab");
      gate.resolve();
      await sending.done;
      await waitFor(() => tabs.every((t) => t.seen.length >= 5), 15_000, "the reply's end, in every tab");
      await requestAt(b.url, DeleteConversation, { id }, aliceToken);
      await waitFor(() => tabs.every((t) => t.seen.length >= 6), 15_000, "the delete, in every tab");
      const reply = assistantOf(sending.seen).id;
      for (const tab of tabs) {
        expect(typenames(tab.seen)).toEqual([
          "ConversationCreated",
          "ConversationUpdated",
          "ReplyStarted",
          "ConversationUpdated",
          "ReplyFinished",
          "ConversationDeleted",
        ]);
        expect(tab.seen[2]).toMatchObject({ conversationId: id, messageId: reply });
        expect(tab.seen[3]).toMatchObject({
          conversation: { id, title: "renamed on B", activeReplyId: reply },
        });
        expect(tab.seen[4]).toMatchObject({ messageId: reply, status: "COMPLETE" });
      }
      // Bob heard nothing of it; his own change reaches both his tabs.
      for (const other of others) expect(other.seen).toEqual([]);
      await requestAt(b.url, CreateConversation, { title: "bob's" }, bobToken);
      await waitFor(() => others.every((o) => o.seen.length === 1), 15_000, "bob's own event");
      for (const tab of tabs) expect(tab.seen).toHaveLength(6);
    } finally {
      for (const reader of [...tabs, ...others]) reader.close();
    }
    // The last tab gone, each instance drops the user's channel.
    await waitFor(async () => (await userChannelListeners(prefix, alice)) === 0, 15_000, "unsubscribed");
  });

  // Last: it kills A.
  it("fails on B, within the lease, a reply whose instance died, and completes its followers", async () => {
    const token = await tokenFor(`crash-${randomUUID()}`);
    const gate = deferred();
    fake.script({
      chunks: [{ content: "saved " }, { content: "text" }, { content: " lost", gate: gate.promise }],
    });
    const tab = await readViewerEvents(b.url, token);
    const onA = send(a.url, token, { content: "die mid-reply" });
    onA.done.catch(() => {}); // its connection dies with A
    await waitFor(() => replyText(onA.seen) === "saved text", 15_000, "text on A");
    const id = assistantOf(onA.seen).id;
    const onB = follow(b.url, token, id, 2);
    await waitFor(() => replyText(onB.seen) === "saved text", 15_000, "text on B");
    await new Promise((r) => setTimeout(r, 300)); // past a flush
    const killedAt = Date.now();
    a.child.kill("SIGKILL");
    await a.exited;

    const events = await onB.done;
    const detectedIn = Date.now() - killedAt;
    gate.resolve();
    expect(events.at(-1)).toMatchObject({
      __typename: "MessageCompleted",
      message: { status: "FAILED", content: "saved text", error: ABANDONED_REPLY_ERROR },
    });
    // The final event comes after everything A shared, so followers keep their seq order.
    expectExact(events, 3);
    // Bounded: the lease, a sweep period, and the follower's delivery (generous for a loaded machine).
    expect(detectedIn).toBeLessThan(LEASE_MS + 10_000);
    // The tabs of the user hear that it ended, from the instance that swept it.
    await waitFor(() => tab.seen.some((e) => e.__typename === "ReplyFinished"), 15_000, "ReplyFinished");
    tab.close();
    expect(tab.seen.at(-1)).toEqual({
      __typename: "ReplyFinished",
      conversationId: assistantOf(onA.seen).conversation.id,
      messageId: id,
      status: "FAILED",
    });
    expect(await readReply(database, id)).toMatchObject({
      status: "FAILED",
      content: "saved text",
      conversation: { activeReplyId: null },
    });
    // The conversation is free again, on the surviving instance.
    fake.script(FakeOpenAI.text(["after the crash"]));
    const again = await send(b.url, token, {
      content: "again",
      conversationId: assistantOf(onA.seen).conversation.id,
    }).done;
    expect(again.at(-1)).toMatchObject({ message: { status: "COMPLETE", content: "after the crash" } });
  });
});

const REDIS_RESTARTS = "several instances while Redis restarts";
describe.runIf(suiteNeedsPostgres(REDIS_RESTARTS))(REDIS_RESTARTS, { timeout: 90_000 }, () => {
  let fake: FakeOpenAI;
  let database: TestDatabase;
  let redis: Awaited<ReturnType<typeof startOwnRedis>>;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    redis = await startOwnRedis();
    fake = await new FakeOpenAI().start();
    database = await createTestDatabase("postgres");
    const env = instanceEnv(database, fake, redis.url, "chat:");
    a = await startServerProcess(env);
    b = await startServerProcess(env);
  }, 120_000);
  afterAll(async () => {
    for (const server of [a, b]) {
      if (server && server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill("SIGTERM");
        await server.exited;
      }
    }
    await redis?.kill();
    await fake?.close();
    await database?.drop();
  });

  async function ready(url: string) {
    return (await fetch(`${url}/readyz`)).status === 200;
  }

  it("keeps every stream going through a Redis restart, and loses nothing that was saved", async () => {
    const token = await tokenFor(`redis-${randomUUID()}`);
    const beforeOutage = deferred();
    const afterOutage = deferred();
    const part1 = ["one ", "two ", "three "];
    const part2 = ["four ", "five ", "six "];
    const part3 = ["seven ", "eight"];
    const text = [...part1, ...part2, ...part3].join("");
    fake.script({
      chunks: [
        ...part1.map((content) => ({ content })),
        ...part2.map((content, i) => ({ content, gate: i === 0 ? beforeOutage.promise : undefined })),
        ...part3.map((content, i) => ({ content, gate: i === 0 ? afterOutage.promise : undefined })),
      ],
    });
    const onA = send(a.url, token, { content: "through the outage" });
    await waitFor(() => replyText(onA.seen) === part1.join(""), 15_000, "part 1 on A");
    const id = assistantOf(onA.seen).id;
    const onB = follow(b.url, token, id, 0);
    await waitFor(() => replyText(onB.seen) === part1.join(""), 15_000, "part 1 on B");
    const tab = await readViewerEvents(b.url, token);
    let tabEnded = false;
    void tab.done.then(() => {
      tabEnded = true;
    });

    await redis.kill();
    await waitFor(async () => !(await ready(a.url)) && !(await ready(b.url)), 15_000, "not ready");
    // The user's events may be lost while Redis is away: B ends their viewerEvents stream at once (its
    // client subscribes and reads its list again), rather than let it miss changes unnoticed.
    await waitFor(() => tabEnded, 15_000, "the viewerEvents stream ended");
    expect(tab.failures).toEqual([]);
    // The model goes on while Redis is away: A's own client sees it live, and A saves it.
    beforeOutage.resolve();
    await waitFor(() => replyText(onA.seen) === [...part1, ...part2].join(""), 15_000, "part 2 on A");
    await waitFor(
      async () => (await readReply(database, id)).content === [...part1, ...part2].join(""),
      15_000,
      "part 2 saved",
    );

    await redis.start();
    await waitFor(async () => (await ready(a.url)) && (await ready(b.url)), 20_000, "ready again");
    // Part 2 was published while Redis was away: B can only have it from the saved reply, as a snapshot.
    await waitFor(
      () => replyText(onB.seen) === [...part1, ...part2].join(""),
      20_000,
      "B caught up from the saved reply",
    );
    expect(onB.seen.at(-1)).toMatchObject({
      __typename: "MessageSnapshot",
      message: { content: [...part1, ...part2].join("") },
    });
    afterOutage.resolve();

    const [ea, eb] = [await onA.done, await onB.done];
    // The client on the reply's own instance saw every event, in order.
    expectExact(ea, 1);
    expect(replyText(ea)).toBe(text);
    // The follower on B saw no duplicate and no going back: what Redis lost came back from the database
    // as a snapshot (a client shows the snapshot's text, then appends the deltas after it).
    const seqs = eb.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(replyText(eb)).toBe(text);
    for (const events of [ea, eb]) {
      expect(events.at(-1)).toMatchObject({
        __typename: "MessageCompleted",
        message: { status: "COMPLETE", content: text },
      });
    }
    expect(await readReply(database, id)).toMatchObject({ status: "COMPLETE", content: text });
  });
});
