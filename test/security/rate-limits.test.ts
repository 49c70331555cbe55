import { randomUUID } from "node:crypto";
import { encodeGlobalID } from "@pothos/plugin-relay";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deferred, FakeOpenAI } from "../fixtures/fake-openai.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { MessageStream, SendMessage } from "../utils/operations.js";
import { dropRedisPrefix, testRedisUrl, uniqueRedisPrefix } from "../utils/redis.js";
import { seedConversation } from "../utils/seed.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { collect, graphqlSSE, sseClient, yogaSSE } from "../utils/sse.js";
import { isCompleted, waitFor } from "../utils/stream-events.js";
import { codes, endpoints, postGraphQL, rowCounts, send } from "./helpers.js";

// Greedy clients: floods of messages, too many replies or streams at once, a spent token quota, too many
// requests. Each is refused with RATE_LIMITED and when to retry, before anything is written or the model
// is called.

const SEND =
  "subscription($c: String!) { sendMessage(input: { content: $c }) { __typename ... on MessageCompleted { message { status } } } }";
const SEND_TO =
  "subscription($c: String!, $id: ID!) { sendMessage(input: { content: $c, conversationId: $id }) { __typename } }";
const LIMITS = {
  RATE_LIMIT_MESSAGES_PER_MINUTE: "3",
  RATE_LIMIT_CONCURRENT_REPLIES: "2",
  RATE_LIMIT_TOKENS_PER_DAY: "1000",
  RATE_LIMIT_REQUESTS_PER_MINUTE: "40",
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: "5",
  MAX_STREAMS_PER_USER: "3",
};

async function freshUser() {
  const id = `greedy-${randomUUID()}`;
  return { id, token: await tokenFor(id) };
}

/** The first error's extensions, as a rate-limit refusal carries them. */
function limitOf(body: Parameters<typeof codes>[0]) {
  return (body.errors?.[0]?.extensions ?? {}) as { retryAfter?: number; limit?: string };
}

function expectRateLimited(body: Parameters<typeof codes>[0], limit: string) {
  expect(codes(body)).toEqual(["RATE_LIMITED"]);
  const extensions = limitOf(body);
  expect(extensions.limit).toBe(limit);
  expect(extensions.retryAfter).toBeGreaterThanOrEqual(1);
}

describe.each(testDatabaseKinds())("rate limits and quotas on %s", (kind) => {
  let server: TestServer;
  let fake: FakeOpenAI;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer(kind, {
      ...fake.serverEnv,
      ...LIMITS,
    });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  /** Sends a message over yoga's SSE and reads the stream to its end. */
  function sendOne(token: string, content: string) {
    return collect(yogaSSE(server.url, SendMessage, { input: { content } }, token));
  }

  it("refuses the fourth message in a minute with 429 RATE_LIMITED and Retry-After, writing nothing", async () => {
    const { token } = await freshUser();
    for (let i = 1; i <= 3; i++) {
      const results = await sendOne(token, `message ${i}`);
      expect(results.at(-1)?.data?.sendMessage?.__typename).toBe("MessageCompleted");
    }
    const before = await rowCounts(server.db.prisma);
    const requests = fake.requests.length;
    const refused = await send(server, "/graphql", {
      headers: {
        "content-type": "application/json",
        accept: "text/event-stream",
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query: SEND, variables: { c: "one too many" } }),
    });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expectRateLimited(refused.body, "messages");
    expect(limitOf(refused.body).retryAfter).toBe(retryAfter);
    const overSSE = await postGraphQL(server, "/graphql/stream", token, SEND, { c: "again" });
    expectRateLimited(overSSE.body, "messages");
    expect(await rowCounts(server.db.prisma)).toEqual(before);
    expect(fake.requests.length).toBe(requests);
  });

  it("lets a flood of parallel sends through only up to the limit, on both endpoints together", async () => {
    const { id, token } = await freshUser();
    const flood = Array.from({ length: 8 }, (_, i) =>
      postGraphQL(server, endpoints[i % 2] ?? "/graphql", token, SEND, { c: `flood ${i}` }),
    );
    const answers = await Promise.all(flood);
    const refused = answers.filter((a) => codes(a.body).includes("RATE_LIMITED"));
    expect(refused.length).toBeGreaterThanOrEqual(5);
    await waitFor(
      async () =>
        (await server.db.prisma.message.count({ where: { ownerId: id, status: "STREAMING" } })) === 0,
    );
    const saved = await server.db.prisma.message.count({ where: { ownerId: id, role: "USER" } });
    expect(saved).toBe(answers.length - refused.length);
    expect(saved).toBeLessThanOrEqual(3);
  });

  it("refuses a third concurrent reply (RATE_LIMITED 'replies') and frees the slot when a reply ends", async () => {
    const { id, token } = await freshUser();
    const gates = [deferred(), deferred()];
    fake.script(
      { chunks: [{ content: "slow one", gate: gates[0]?.promise }] },
      { chunks: [{ content: "slow two", gate: gates[1]?.promise }] },
    );
    const running = [sendOne(token, "first"), sendOne(token, "second")];
    await waitFor(
      async () =>
        (await server.db.prisma.message.count({ where: { ownerId: id, status: "STREAMING" } })) === 2,
    );
    const before = await rowCounts(server.db.prisma);
    const refused = await postGraphQL(server, "/graphql/stream", token, SEND, { c: "third" });
    expectRateLimited(refused.body, "replies");
    expect(await rowCounts(server.db.prisma)).toEqual(before);
    for (const gate of gates) gate.resolve();
    await Promise.all(running);
    const third = await sendOne(token, "third, later");
    expect(third.at(-1)?.data?.sendMessage?.__typename).toBe("MessageCompleted");
  });

  /** A user whose recorded usage today (1,000 tokens, in one conversation) uses up the quota. */
  async function userOverQuota() {
    const { id, token } = await freshUser();
    const conversation = await seedConversation(server.db.prisma, id, { messages: 2 });
    await server.db.prisma.message.updateMany({
      where: { conversationId: conversation.id, role: "ASSISTANT" },
      data: { promptTokens: 900, completionTokens: 100, totalTokens: 1000 },
    });
    return { token, conversation };
  }

  it("refuses a send to an existing conversation over the quota, writing nothing (one statement checks both)", async () => {
    const { token, conversation: c } = await userOverQuota();
    const before = await rowCounts(server.db.prisma);
    const refused = await postGraphQL(server, "/graphql/stream", token, SEND_TO, {
      c: "over quota, in a conversation",
      id: encodeGlobalID("Conversation", c.id),
    });
    expectRateLimited(refused.body, "tokens");
    expect(await rowCounts(server.db.prisma)).toEqual(before);
    const conversation = await server.db.prisma.conversation.findUniqueOrThrow({ where: { id: c.id } });
    expect(conversation.activeReplyId).toBeNull();
  });

  it("refuses a send once the day's recorded token usage reaches the quota, before calling the model", async () => {
    const { token, conversation: c } = await userOverQuota();
    const before = await rowCounts(server.db.prisma);
    const requests = fake.requests.length;
    for (const path of endpoints) {
      const refused = await postGraphQL(server, path, token, SEND, { c: "over quota" });
      expectRateLimited(refused.body, "tokens");
      expect(limitOf(refused.body).retryAfter).toBeLessThanOrEqual(86_400); // at the next midnight UTC
    }
    expect(await rowCounts(server.db.prisma)).toEqual(before);
    expect(fake.requests.length).toBe(requests);
    // Yesterday's usage does not count.
    await server.db.prisma.message.updateMany({
      where: { conversationId: c.id },
      data: { createdAt: new Date(Date.now() - 2 * 86_400_000) },
    });
    const allowed = await sendOne(token, "a new day");
    expect(allowed.at(-1)?.data?.sendMessage?.__typename).toBe("MessageCompleted");
  });

  it("refuses a stream beyond MAX_STREAMS_PER_USER (RATE_LIMITED 'streams') on either endpoint", async () => {
    const { id, token } = await freshUser();
    // A reply being written elsewhere: its stream stays open, waiting for events.
    const c = await seedConversation(server.db.prisma, id, { messages: 2 });
    const reply = await server.db.prisma.message.findFirstOrThrow({
      where: { conversationId: c.id, role: "ASSISTANT" },
    });
    await server.db.prisma.message.update({ where: { id: reply.id }, data: { status: "STREAMING" } });
    const messageId = encodeGlobalID("Message", reply.id);
    // Streams of earlier tests' users may still be open here (a subscription answered as one JSON result
    // leaves its stream to the idle timeout): count this user's from what is open now.
    const open = server.runtime.streams.size;
    const aborts = [new AbortController(), new AbortController()];
    const readers = aborts.map((a) =>
      collect(yogaSSE(server.url, MessageStream, { messageId }, token, a.signal)).catch(() => []),
    );
    const client = sseClient(server.url, token, false);
    const third = collect(graphqlSSE(client, MessageStream, { messageId })).catch(() => []);
    await waitFor(() => server.runtime.streams.size === open + 3, 10_000, "three open streams");
    for (const path of endpoints) {
      const refused = await postGraphQL(
        server,
        path,
        token,
        "subscription($id: ID!) { messageStream(messageId: $id) { __typename } }",
        { id: messageId },
      );
      expectRateLimited(refused.body, "streams");
    }
    const before = await rowCounts(server.db.prisma);
    const send4 = await postGraphQL(server, "/graphql", token, SEND, { c: "while at the cap" });
    expectRateLimited(send4.body, "streams");
    expect(await rowCounts(server.db.prisma)).toEqual(before);
    // Closing one frees its slot.
    aborts[0]?.abort();
    await waitFor(() => server.runtime.streams.size === open + 2, 10_000, "a stream to close");
    const again = new AbortController();
    const fourth = collect(yogaSSE(server.url, MessageStream, { messageId }, token, again.signal)).catch(
      () => [],
    );
    await waitFor(() => server.runtime.streams.size === open + 3, 10_000, "the new stream");
    // A shutdown ends them all cleanly: each stream completes (no MessageCompleted: the client resumes).
    await server.runtime.streams.closeAll();
    expect(server.runtime.streams.size).toBe(0);
    await Promise.all([readers[1], third, fourth]);
    client.dispose();
    again.abort();
    aborts[1]?.abort();
  });

  it("rate-limits a user's requests per minute (RATE_LIMITED 'requests', 429)", async () => {
    const { token } = await freshUser();
    let last = await postGraphQL(server, "/graphql", token, "{ viewer { id } }");
    for (let i = 1; i < 40; i++) last = await postGraphQL(server, "/graphql", token, "{ viewer { id } }");
    expect(last.body.data).toBeTruthy();
    const refused = await postGraphQL(server, "/graphql", token, "{ viewer { id } }");
    expect(refused.status).toBe(429);
    expectRateLimited(refused.body, "requests");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  it("rate-limits unauthenticated requests per client address, bad tokens included", async () => {
    const answers = [];
    for (let i = 0; i < 5; i++)
      answers.push(
        await postGraphQL(server, "/graphql", i % 2 ? "forged.token.x" : null, "{ viewer { id } }"),
      );
    expect(answers.map((a) => codes(a.body)[0])).toEqual(Array(5).fill("UNAUTHENTICATED"));
    for (const path of endpoints) {
      const refused = await postGraphQL(server, path, "forged.token.x", "{ viewer { id } }");
      expectRateLimited(refused.body, "requests");
    }
    // The built-in MCP server's endpoint counts against the same limit.
    const mcp = await fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer forged.token.x" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(mcp.status).toBe(429);
    expect(Number(mcp.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  it("counts refusals in the metrics", async () => {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    for (const limit of ["messages", "replies", "tokens", "streams", "requests"]) {
      expect(metrics).toMatch(new RegExp(`chat_rate_limited_total\\{limit="${limit}"\\} [1-9]`));
    }
  });
});

describe("stream time limits", () => {
  let server: TestServer;
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer("pglite", {
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: "test-key",
      STREAM_IDLE_TIMEOUT_MS: "1000",
      STREAM_MAX_DURATION_MS: "2000",
    });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  it("ends a stream that sees no event for STREAM_IDLE_TIMEOUT_MS, and frees its slot", async () => {
    const id = `idle-${randomUUID()}`;
    const token = await tokenFor(id);
    const c = await seedConversation(server.db.prisma, id, { messages: 2 });
    const reply = await server.db.prisma.message.findFirstOrThrow({
      where: { conversationId: c.id, role: "ASSISTANT" },
    });
    await server.db.prisma.message.update({
      where: { id: reply.id },
      data: { status: "STREAMING", lastSeq: 3 },
    });
    const started = Date.now();
    const results = await collect(
      yogaSSE(server.url, MessageStream, { messageId: encodeGlobalID("Message", reply.id) }, token),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(results.map((r) => r.data?.messageStream?.__typename)).toEqual(["MessageSnapshot"]);
    expect(server.runtime.streams.size).toBe(0);
  });

  it("ends a busy stream after STREAM_MAX_DURATION_MS; the reply itself completes and is saved", async () => {
    const id = `long-${randomUUID()}`;
    const token = await tokenFor(id);
    fake.script(
      FakeOpenAI.text(
        Array.from({ length: 14 }, (_, i) => `part${i} `),
        { delayMs: 250 },
      ),
    );
    const results = await collect(
      yogaSSE(server.url, SendMessage, { input: { content: "talk a while" } }, token),
    );
    expect(results.some(isCompleted)).toBe(false);
    expect(results.some((r) => r.data?.sendMessage?.__typename === "TextDelta")).toBe(true);
    await waitFor(
      async () => {
        const m = await server.db.prisma.message.findFirst({ where: { ownerId: id, role: "ASSISTANT" } });
        return m?.status === "COMPLETE";
      },
      15_000,
      "the reply to complete",
    );
  });
});

describe("limits shared through Redis", () => {
  const prefix = uniqueRedisPrefix();
  const servers: TestServer[] = [];
  beforeAll(async () => {
    const env = { REDIS_URL: testRedisUrl, REDIS_KEY_PREFIX: prefix, RATE_LIMIT_MESSAGES_PER_MINUTE: "2" };
    servers.push(await startTestServer("pglite", env), await startTestServer("pglite", env));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await dropRedisPrefix(prefix);
  });

  it("counts a user's messages across instances: the third, on either instance, is refused", async () => {
    const token = await tokenFor(`shared-${randomUUID()}`);
    const [a, b] = servers as [TestServer, TestServer];
    for (const server of [a, b]) {
      const results = await collect(yogaSSE(server.url, SendMessage, { input: { content: "hi" } }, token));
      expect(results.some(isCompleted)).toBe(true);
    }
    for (const server of [a, b]) {
      const refused = await postGraphQL(server, "/graphql", token, SEND, { c: "third" });
      expectRateLimited(refused.body, "messages");
    }
  });

  it("reports Redis in readiness", async () => {
    const ready = await (await fetch(`${servers[0]?.url}/readyz`)).json();
    expect(ready).toEqual({ status: "ready", checks: { database: "ok", redis: "ok", accepting: "ok" } });
  });
});

// A reply's slot among the user's concurrent replies is freed however its end goes: here the log line of
// the end throws, after the end was stored and told to the client.
describe.each(testDatabaseKinds())("a reply whose end throws after it is stored, on %s", (kind) => {
  let server: TestServer;
  let fake: FakeOpenAI;
  const failingLog = pino(
    {
      hooks: {
        logMethod(args, method) {
          if (args.includes("reply ended")) throw new Error("the log sink failed");
          return method.apply(this, args);
        },
      },
    },
    pino.destination("/dev/null"),
  );

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer(
      kind,
      { ...fake.serverEnv, ...LIMITS, RATE_LIMIT_CONCURRENT_REPLIES: "1" },
      { logger: failingLog },
    );
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  it("still frees the user's reply slot: the next send is answered", async () => {
    const { token } = await freshUser();
    for (const content of ["first", "second"]) {
      const results = await collect(yogaSSE(server.url, SendMessage, { input: { content } }, token));
      expect(results.at(-1)?.data?.sendMessage?.__typename).toBe("MessageCompleted");
    }
  });
});
