import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deferred, FakeOpenAI } from "../fixtures/fake-openai.js";
import {
  createTestDatabase,
  suiteNeedsPostgres,
  type TestDatabase,
  testDatabaseKinds,
} from "../utils/databases.js";
import { SendMessage, SwitchBranch, TreeQuery } from "../utils/operations.js";
import { type ServerProcess, startServerProcess } from "../utils/process.js";
import { dropRedisPrefix, requireRedis, testRedisUrl, uniqueRedisPrefix } from "../utils/redis.js";
import { requestAt, startTestServer, TEST_JWT_SECRET, type TestServer, tokenFor } from "../utils/server.js";
import { collect, yogaSSE } from "../utils/sse.js";
import { conversationIdOf, eventsOf, replyText, waitFor, watch } from "../utils/stream-events.js";

// Double-texting: a send while a reply runs, with `onBusy: ENQUEUE` (answered after it, in order) or
// `INTERRUPT` (the running reply stops, its text kept, and the new message is answered).

type Input = { content: string; conversationId?: string; onBusy?: "REJECT" | "ENQUEUE" | "INTERRUPT" };

function reading(url: string, token: string, input: Input) {
  const watched = watch(yogaSSE(url, SendMessage, { input }, token));
  return { seen: watched.seen, done: watched.done.then(() => watched.seen) };
}

/** A conversation's active path as `[content, status]` pairs, with the `totalCount` read beside it. */
async function readPath(url: string, token: string, id: string) {
  const result = await requestAt(url, TreeQuery, { id }, token);
  const messages = result.data?.conversation?.messages;
  const contents = messages?.edges.map((e) => [e.node.content, e.node.status]) ?? [];
  return { contents, totalCount: messages?.totalCount };
}

/**
 * The contents of a settled active path; its `totalCount` must be their number. Settled: the count comes
 * with the conversation and the page from a second read, so a write landing between them (a queued message
 * answered) may show in one and not yet the other.
 */
async function path(url: string, token: string, id: string) {
  const { contents, totalCount } = await readPath(url, token, id);
  expect(totalCount).toBe(contents.length);
  return contents;
}

/** The user and assistant contents the model was sent in a request, without the system prompt. */
const historyOf = (fake: FakeOpenAI, i: number) =>
  fake.requests
    .at(i)
    ?.body.messages.filter((m) => m.role !== "system")
    .map((m) => m.content);

/** The scenarios, against one instance or two (`a` runs the first reply, `b` takes the double texts). */
function scenarios(get: () => { a: string; b: string; fake: FakeOpenAI }) {
  it("ENQUEUE: queued messages show at once and are answered after the running reply, in order", async () => {
    const { a, b, fake } = get();
    const token = await tokenFor(`enqueue-${randomUUID()}`);
    const gate = deferred();
    fake.script(
      { chunks: [{ content: "first " }, { content: "answer", gate: gate.promise }] },
      FakeOpenAI.text(["second answer"]),
      FakeOpenAI.text(["third answer"]),
    );
    const running = reading(a, token, { content: "one" });
    await waitFor(() => replyText(running.seen) === "first ", 15_000, "the first reply running");
    const conversationId = conversationIdOf(running.seen);
    const requestsBefore = fake.requests.length;
    const second = reading(b, token, { content: "two", conversationId, onBusy: "ENQUEUE" });
    await waitFor(() => second.seen.length >= 1, 15_000, "the second message queued");
    const third = reading(b, token, { content: "three", conversationId, onBusy: "ENQUEUE" });
    await waitFor(() => third.seen.length >= 1, 15_000, "the third message queued");
    for (const [queued, content] of [
      [second, "two"],
      [third, "three"],
    ] as const) {
      expect(queued.seen[0]).toMatchObject({
        __typename: "MessageCreated",
        message: { role: "USER", status: "QUEUED", content },
      });
    }
    // Queued messages are on the active path while they wait; nothing else was sent to the model.
    expect(await path(a, token, conversationId)).toEqual([
      ["one", "COMPLETE"],
      ["first ", "STREAMING"],
      ["two", "QUEUED"],
      ["three", "QUEUED"],
    ]);
    // Switching to the path it is on changes nothing, its length included.
    const tree = await requestAt(a, TreeQuery, { id: conversationId }, token);
    const opening = tree.data?.conversation?.messages.edges[0]?.node.id as string;
    expect((await requestAt(a, SwitchBranch, { messageId: opening }, token)).errors).toBeUndefined();
    expect(await path(a, token, conversationId)).toHaveLength(4);
    expect(fake.requests.length).toBe(requestsBefore);
    // A plain send still waits its turn.
    const [refused] = await collect(
      yogaSSE(b, SendMessage, { input: { content: "no", conversationId } }, token),
    );
    expect(refused?.errors?.[0]?.extensions?.code).toBe("CONFLICT");
    // Only a message after the active leaf can wait: an edit (a new version under a parent) cannot.
    const [edit] = await collect(
      yogaSSE(
        b,
        SendMessage,
        { input: { content: "an edit", conversationId, parentMessageId: opening, onBusy: "ENQUEUE" } },
        token,
      ),
    );
    expect(edit?.errors?.[0]?.extensions?.code).toBe("CONFLICT");
    expect(edit?.errors?.[0]?.message).toMatch(/without parentMessageId/);

    gate.resolve();
    const [secondEvents, thirdEvents] = await Promise.all([second.done, third.done]);
    expect(replyText(secondEvents)).toBe("second answer");
    expect(replyText(thirdEvents)).toBe("third answer");
    expect(secondEvents.at(-1)).toMatchObject({
      __typename: "MessageCompleted",
      message: { status: "COMPLETE" },
    });
    // In order, each seeing the replies before it.
    expect(historyOf(fake, -2)).toEqual(["one", "first answer", "two"]);
    expect(historyOf(fake, -1)).toEqual(["one", "first answer", "two", "second answer", "three"]);
    expect(await path(b, token, conversationId)).toEqual([
      ["one", "COMPLETE"],
      ["first answer", "COMPLETE"],
      ["two", "COMPLETE"],
      ["second answer", "COMPLETE"],
      ["three", "COMPLETE"],
      ["third answer", "COMPLETE"],
    ]);
  });

  it("INTERRUPT: stops the running reply, keeps its text, and answers the new message", async () => {
    const { a, b, fake } = get();
    const token = await tokenFor(`interrupt-${randomUUID()}`);
    const never = deferred();
    fake.script(
      { chunks: [{ content: "partial" }, { content: " never", gate: never.promise }] },
      FakeOpenAI.text(["new answer"]),
    );
    const running = reading(a, token, { content: "long one" });
    await waitFor(() => replyText(running.seen) === "partial", 15_000, "the first reply running");
    const conversationId = conversationIdOf(running.seen);
    const events = eventsOf(
      await collect(
        yogaSSE(
          b,
          SendMessage,
          { input: { content: "actually", conversationId, onBusy: "INTERRUPT" } },
          token,
        ),
        (r) => r.data?.sendMessage?.__typename === "MessageCompleted",
      ),
    );
    expect(replyText(events)).toBe("new answer");
    const stopped = await running.done;
    expect(stopped.at(-1)).toMatchObject({
      __typename: "MessageCompleted",
      message: { status: "CANCELLED", content: "partial" },
    });
    expect(historyOf(fake, -1)).toEqual(["long one", "partial", "actually"]);
    expect(await path(a, token, conversationId)).toEqual([
      ["long one", "COMPLETE"],
      ["partial", "CANCELLED"],
      ["actually", "COMPLETE"],
      ["new answer", "COMPLETE"],
    ]);
    never.resolve();
  });
}

describe.each(testDatabaseKinds())("double-texting on one instance, %s", (kind) => {
  let server: TestServer;
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer(kind, { ...fake.serverEnv, OPENAI_IDLE_TIMEOUT_MS: "30000" });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });
  scenarios(() => ({ a: server.url, b: server.url, fake }));
});

describe.each(testDatabaseKinds())("a queue left by a stopped server, %s", (kind) => {
  let fake: FakeOpenAI;
  let database: TestDatabase;
  const dataDir = mkdtempSync(join(tmpdir(), "queue-"));
  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    // PGlite on disk, so that the second server opens what the first left.
    database =
      kind === "pglite"
        ? {
            kind,
            target: { kind, dataDir },
            drop: async () => rmSync(dataDir, { recursive: true, force: true }),
          }
        : await createTestDatabase(kind);
  });
  afterAll(async () => {
    await fake?.close();
    await database?.drop();
  });

  it("is answered, in order, when the next server starts", { timeout: 120_000 }, async () => {
    const kept = { ...database, drop: async () => {} };
    const env = { ...fake.serverEnv, OPENAI_IDLE_TIMEOUT_MS: "30000" };
    const token = await tokenFor(`restart-${randomUUID()}`);
    const never = deferred();
    fake.script(
      { chunks: [{ content: "cut " }, { content: "off", gate: never.promise }] },
      FakeOpenAI.text(["answer to two"]),
      FakeOpenAI.text(["answer to three"]),
    );
    const first = await startTestServer(kind, env, { database: kept });
    const running = reading(first.url, token, { content: "one" });
    await waitFor(() => replyText(running.seen) === "cut ", 15_000, "the first reply running");
    const conversationId = conversationIdOf(running.seen);
    const readers = [running];
    for (const content of ["two", "three"]) {
      const queued = reading(first.url, token, { content, conversationId, onBusy: "ENQUEUE" });
      await waitFor(() => queued.seen.length >= 1, 15_000, `"${content}" queued`);
      readers.push(queued);
    }
    // The server going away cuts these streams off: expected here.
    const cutOff = Promise.allSettled(readers.map((r) => r.done));
    await first.close();
    await cutOff;
    never.resolve();

    const second = await startTestServer(kind, env, { database: kept });
    try {
      // Six messages, the last one ended: its row exists from the moment its reply starts.
      await waitFor(
        async () => {
          const { contents: messages } = await readPath(second.url, token, conversationId);
          return messages.length === 6 && messages[5]?.[1] !== "STREAMING";
        },
        30_000,
        "the queue answered",
      );
      expect(await path(second.url, token, conversationId)).toEqual([
        ["one", "COMPLETE"],
        ["cut ", "CANCELLED"],
        ["two", "COMPLETE"],
        ["answer to two", "COMPLETE"],
        ["three", "COMPLETE"],
        ["answer to three", "COMPLETE"],
      ]);
    } finally {
      await second.close();
    }
  });
});

const TWO_INSTANCES = "double-texting across two instances on PostgreSQL and Redis";
describe.runIf(suiteNeedsPostgres(TWO_INSTANCES))(TWO_INSTANCES, { timeout: 90_000 }, () => {
  let fake: FakeOpenAI;
  let database: TestDatabase;
  const prefix = uniqueRedisPrefix();
  const servers: ServerProcess[] = [];
  beforeAll(async () => {
    await requireRedis();
    fake = await new FakeOpenAI().start();
    database = await createTestDatabase("postgres");
    if (database.target.kind !== "postgres") throw new Error("needs PostgreSQL");
    const env = {
      DATABASE_URL: database.target.url,
      REDIS_URL: testRedisUrl,
      REDIS_KEY_PREFIX: prefix,
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: "k",
      OPENAI_IDLE_TIMEOUT_MS: "30000",
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      FLUSH_INTERVAL_MS: "50",
    };
    // One at a time: the first applies the migrations.
    servers.push(await startServerProcess(env));
    servers.push(await startServerProcess(env));
  }, 120_000);
  afterAll(async () => {
    for (const server of servers) {
      if (server.child.exitCode === null && server.child.signalCode === null) {
        server.child.kill("SIGTERM");
        await server.exited;
      }
    }
    await fake?.close();
    await database?.drop();
    await dropRedisPrefix(prefix);
  });
  scenarios(() => ({ a: String(servers[0]?.url), b: String(servers[1]?.url), fake }));
});
