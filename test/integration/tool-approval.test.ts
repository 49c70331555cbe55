import { randomUUID } from "node:crypto";
import path from "node:path";
import { decodeGlobalID } from "@pothos/plugin-relay";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deniedResult, timedOutResult } from "../../src/agent/runs/approvals.js";
import { FakeOpenAI } from "../fixtures/fake-openai.js";
import { McpHttpFixture } from "../fixtures/mcp-http-server.js";
import { TEST_USER_HEADER } from "../fixtures/mcp-tools.js";
import {
  createTestDatabase,
  suiteNeedsPostgres,
  type TestDatabase,
  testDatabaseKinds,
} from "../utils/databases.js";
import { stdioFixtureEntry, tempDir, writeMcpConfig } from "../utils/mcp.js";
import { StopGeneration } from "../utils/operations.js";
import { dropRedisPrefix, requireRedis, testRedisUrl, uniqueRedisPrefix } from "../utils/redis.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { yogaSSE } from "../utils/sse.js";
import { increasing, mergedTypes, waitFor } from "../utils/stream-events.js";
import {
  DecideToolCall,
  RevokeToolPermission,
  SendWithTools,
  StreamWithTools,
  type ToolEvent,
  ToolsQuery,
  toolEventsOf,
} from "../utils/tool-operations.js";
import { readViewerEvents } from "../utils/viewer-event-operations.js";

type Watched = { seen: ToolEvent[]; done: Promise<void> };

/** Reads a stream in the background until MessageCompleted (or its end). */
function watch(stream: AsyncIterable<Parameters<typeof toolEventsOf>[0][number]>): Watched {
  const seen: ToolEvent[] = [];
  const done = (async () => {
    for await (const result of stream) {
      seen.push(...toolEventsOf([result]));
      if (seen.at(-1)?.__typename === "MessageCompleted") return;
    }
  })();
  return { seen, done };
}

const ofType = <T extends ToolEvent["__typename"]>(events: ToolEvent[], type: T) =>
  events.filter((e): e is Extract<ToolEvent, { __typename: T }> => e.__typename === type);

function completed(events: ToolEvent[]) {
  const last = events.at(-1);
  if (last?.__typename !== "MessageCompleted")
    throw new Error(`the stream did not complete: ${JSON.stringify(events)}`);
  return last.message;
}

/** Waits for the stream's n-th approval request. */
async function approvalRequested(w: Watched, n = 1) {
  await waitFor(() => ofType(w.seen, "ToolApprovalRequested").length >= n, 15_000, "an approval request");
  return ofType(w.seen, "ToolApprovalRequested")[n - 1] as Extract<
    ToolEvent,
    { __typename: "ToolApprovalRequested" }
  >;
}

async function newUser() {
  const id = `user-${randomUUID()}`;
  return { id, token: await tokenFor(id) };
}

function send(server: TestServer, token: string, content: string, conversationId?: string) {
  return watch(yogaSSE(server.url, SendWithTools, { input: { content, conversationId } }, token));
}

function decide(
  server: TestServer,
  token: string,
  input: {
    toolCallId: string;
    approve: boolean;
    remember?: "ONCE" | "CONVERSATION" | "ALWAYS";
    reason?: string;
  },
) {
  return server.request(DecideToolCall, { input }, token);
}

const messageRow = (server: TestServer, globalId: string) =>
  server.runtime.prisma.message.findUniqueOrThrow({
    where: { id: decodeGlobalID(globalId).id },
    include: { toolCalls: true, conversation: true },
  });

describe.each(testDatabaseKinds())("tool approval on %s", (kind) => {
  let server: TestServer;
  let fake: FakeOpenAI;
  let http: McpHttpFixture;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    http = await new McpHttpFixture("http").start();
    const dir = tempDir();
    const config = writeMcpConfig(dir, {
      http: { url: http.url, approval: { tools: ["echo", "slow"] } },
      local: { ...stdioFixtureEntry(path.join(dir, "stdio.log"), "local"), approval: "auto" },
    });
    server = await startTestServer(kind, {
      ...fake.serverEnv,
      MCP_CONFIG: config,
      MCP_CONNECT_TIMEOUT_MS: "30000",
      MCP_USER_HEADER: TEST_USER_HEADER,
      TOOL_APPROVAL_TIMEOUT_MS: "120000",
    });
  });
  afterAll(async () => {
    await server?.close();
    await http?.stop();
    await fake?.close();
  });

  it("asks before a call, pauses holding no run, and runs the call once approved", async () => {
    const user = await newUser();
    const before = fake.requests.length;
    const calls = () => http.eventsOf("echo").filter((e) => e.type === "call" && e.metaUser === user.id);
    fake.script(
      FakeOpenAI.toolCalls(
        [{ id: "call_a", name: "http__echo", arguments: '{"text":"hi"}' }],
        "Let me check. ",
      ),
      FakeOpenAI.text(["Done: ", "echo hi."]),
    );
    const tab = await readViewerEvents(server.url, user.token);
    const stream = send(server, user.token, "echo hi");
    const asked = await approvalRequested(stream);
    expect(asked.toolCall).toMatchObject({
      server: "http",
      name: "echo",
      arguments: { text: "hi" },
      status: "AWAITING_APPROVAL",
      result: null,
    });
    // Paused: no run, no model stream; the reply and its conversation wait in the database.
    await waitFor(() => server.runtime.runs.size === 0, 10_000, "the run to end");
    const paused = await messageRow(server, asked.messageId);
    expect(paused.status).toBe("AWAITING_APPROVAL");
    expect(paused.content).toBe("Let me check. ");
    expect(paused.conversation.activeReplyId).toBe(paused.id);
    expect(paused.toolCalls.map((c) => c.status)).toEqual(["AWAITING_APPROVAL"]);
    expect(fake.requests.length - before).toBe(1);
    expect(calls()).toHaveLength(0);

    const decided = await decide(server, user.token, { toolCallId: asked.toolCall.id, approve: true });
    expect(decided.errors).toBeUndefined();
    expect(decided.data?.decideToolCall.toolCall).toMatchObject({
      id: asked.toolCall.id,
      decision: "approved",
    });
    expect(decided.data?.decideToolCall.toolCall.decidedAt).toBeTruthy();
    await stream.done;

    const events = stream.seen;
    expect(mergedTypes(events)).toEqual([
      "MessageCreated",
      "MessageCreated",
      "TextDelta",
      "ToolApprovalRequested",
      "ToolCallStarted",
      "ToolCallCompleted",
      "TextDelta",
      "MessageCompleted",
    ]);
    const seqs = events.map((e) => ("seq" in e ? e.seq : 0));
    expect(increasing(seqs)).toBe(true);
    expect(seqs.slice(0, 6)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(seqs.at(-1)).toBe(9);
    const message = completed(events);
    expect(message).toMatchObject({ status: "COMPLETE", content: "Let me check. Done: echo hi." });
    // The user's tabs heard the reply stop running while it waited, and start again once decided.
    await waitFor(() => tab.seen.length >= 5, 10_000, "the viewer events");
    tab.close();
    expect(tab.seen.map((e) => (e.__typename === "ReplyFinished" ? e.status : e.__typename))).toEqual([
      "ConversationCreated",
      "ReplyStarted",
      "AWAITING_APPROVAL",
      "ReplyStarted",
      "COMPLETE",
    ]);
    expect(message.toolCalls).toEqual([
      { id: asked.toolCall.id, name: "echo", status: "COMPLETED", result: "echo: hi", decision: "approved" },
    ]);
    expect(calls()).toHaveLength(1);
    const second = fake.requests[before + 1];
    expect(second?.body.messages.slice(-2)).toEqual([
      {
        role: "assistant",
        content: "Let me check. ",
        tool_calls: [
          { id: "call_a", type: "function", function: { name: "http__echo", arguments: '{"text":"hi"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_a", content: "echo: hi" },
    ]);
    const saved = await messageRow(server, asked.messageId);
    expect(saved).toMatchObject({ status: "COMPLETE", lastSeq: 9, totalTokens: 25 + 12 });
    expect(saved.conversation.activeReplyId).toBeNull();

    // Deciding again is a conflict, and changes nothing.
    const again = await decide(server, user.token, { toolCallId: asked.toolCall.id, approve: false });
    expect(again.errors?.[0]?.extensions?.code).toBe("CONFLICT");
    expect((await messageRow(server, asked.messageId)).toolCalls[0]?.status).toBe("COMPLETED");
  });

  it("hands a denial to the model as the tool's result, with the reason", async () => {
    const user = await newUser();
    const before = fake.requests.length;
    fake.script(
      FakeOpenAI.toolCalls([{ id: "call_d", name: "http__echo", arguments: '{"text":"no"}' }]),
      FakeOpenAI.text(["Understood."]),
    );
    const stream = send(server, user.token, "echo no");
    const asked = await approvalRequested(stream);
    const denied = await decide(server, user.token, {
      toolCallId: asked.toolCall.id,
      approve: false,
      reason: "not now",
    });
    expect(denied.data?.decideToolCall.toolCall).toMatchObject({
      status: "DENIED",
      decision: "denied: not now",
      result: deniedResult("not now"),
    });
    await stream.done;
    const [done] = ofType(stream.seen, "ToolCallCompleted");
    expect(done?.toolCall).toMatchObject({
      status: "DENIED",
      isError: true,
      result: deniedResult("not now"),
    });
    expect(ofType(stream.seen, "ToolCallStarted")).toHaveLength(0);
    expect(completed(stream.seen)).toMatchObject({ status: "COMPLETE", content: "Understood." });
    expect(fake.requests[before + 1]?.body.messages.at(-1)).toEqual({
      role: "tool",
      tool_call_id: "call_d",
      content: deniedResult("not now"),
    });
    expect(http.eventsOf("echo").filter((e) => e.type === "call" && e.metaUser === user.id)).toHaveLength(0);
  });

  it("asks only for what the policy names: auto runs read-only tools, and the call's round waits", async () => {
    const user = await newUser();
    fake.script(
      FakeOpenAI.toolCalls([
        { id: "call_p", name: "local__peek", arguments: "{}" },
        { id: "call_e", name: "local__echo", arguments: '{"text":"x"}' },
        { id: "call_w", name: "http__whoami", arguments: "{}" },
      ]),
      FakeOpenAI.text(["ok"]),
    );
    const stream = send(server, user.token, "three");
    const asked = await approvalRequested(stream);
    expect(asked.toolCall).toMatchObject({ server: "local", name: "echo" });
    // The calls that need no approval ran while the other waited.
    await waitFor(() => ofType(stream.seen, "ToolCallCompleted").length === 2, 10_000, "the free calls");
    // They ran in parallel: either may answer first.
    const free = ofType(stream.seen, "ToolCallCompleted").map(
      (e) => `${e.toolCall.name} ${e.toolCall.status}`,
    );
    expect(free.sort()).toEqual(["peek COMPLETED", "whoami COMPLETED"]);
    await decide(server, user.token, { toolCallId: asked.toolCall.id, approve: true });
    await stream.done;
    expect(completed(stream.seen).toolCalls.map((c) => [c.name, c.status])).toEqual([
      ["peek", "COMPLETED"],
      ["echo", "COMPLETED"],
      ["whoami", "COMPLETED"],
    ]);
  });

  it("remembers approvals for the conversation or always, lists them, and forgets a revoked one", async () => {
    const user = await newUser();
    const echo = (id: string) =>
      FakeOpenAI.toolCalls([{ id, name: "http__echo", arguments: '{"text":"r"}' }]);
    fake.script(echo("call_r1"), FakeOpenAI.text(["one"]));
    const first = send(server, user.token, "first");
    const asked = await approvalRequested(first);
    await decide(server, user.token, {
      toolCallId: asked.toolCall.id,
      approve: true,
      remember: "CONVERSATION",
    });
    await first.done;
    const conversationId =
      ofType(first.seen, "MessageCreated")[0]?.message.conversation.id ?? "missing conversation";

    // The same conversation: no question.
    fake.script(echo("call_r2"), FakeOpenAI.text(["two"]));
    const second = send(server, user.token, "second", conversationId);
    await second.done;
    expect(ofType(second.seen, "ToolApprovalRequested")).toHaveLength(0);
    expect(completed(second.seen).toolCalls[0]).toMatchObject({ status: "COMPLETED", decision: null });

    // Another conversation asks again; approving ALWAYS covers every conversation.
    fake.script(echo("call_r3"), FakeOpenAI.text(["three"]));
    const third = send(server, user.token, "third");
    const asked3 = await approvalRequested(third);
    await decide(server, user.token, { toolCallId: asked3.toolCall.id, approve: true, remember: "ALWAYS" });
    await third.done;
    fake.script(echo("call_r4"), FakeOpenAI.text(["four"]));
    const fourth = send(server, user.token, "fourth");
    await fourth.done;
    expect(ofType(fourth.seen, "ToolApprovalRequested")).toHaveLength(0);

    const listed = await server.request(ToolsQuery, {}, user.token);
    const permissions = listed.data?.viewer.toolPermissions ?? [];
    expect(permissions.map((p) => [p.server, p.tool, p.scope, p.conversation?.id ?? null])).toEqual([
      ["http", "echo", "ALWAYS", null],
      ["http", "echo", "CONVERSATION", conversationId],
    ]);
    // Another user has none, and cannot revoke these.
    const other = await newUser();
    expect((await server.request(ToolsQuery, {}, other.token)).data?.viewer.toolPermissions).toEqual([]);
    const foreign = await server.request(RevokeToolPermission, { id: permissions[0]?.id ?? "" }, other.token);
    expect(foreign.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const bad = await server.request(RevokeToolPermission, { id: "nope" }, user.token);
    expect(bad.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");

    for (const p of permissions) {
      const revoked = await server.request(RevokeToolPermission, { id: p.id }, user.token);
      expect(revoked.data?.revokeToolPermission.revokedId).toBe(p.id);
    }
    fake.script(echo("call_r5"), FakeOpenAI.text(["five"]));
    const fifth = send(server, user.token, "fifth", conversationId);
    const asked5 = await approvalRequested(fifth);
    await decide(server, user.token, { toolCallId: asked5.toolCall.id, approve: true });
    await fifth.done;
  });

  it("refuses another user's decision and bad ids without writing, and cancels a waiting reply on stop", async () => {
    const user = await newUser();
    const other = await newUser();
    fake.script(FakeOpenAI.toolCalls([{ id: "call_s", name: "http__echo", arguments: '{"text":"s"}' }]));
    const stream = send(server, user.token, "stop me");
    const asked = await approvalRequested(stream);
    await waitFor(() => server.runtime.runs.size === 0, 10_000, "the run to end");

    const foreign = await decide(server, other.token, { toolCallId: asked.toolCall.id, approve: true });
    expect(foreign.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const unknown = await decide(server, user.token, { toolCallId: randomUUID(), approve: true });
    expect(unknown.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const malformed = await decide(server, user.token, { toolCallId: "not-an-id", approve: true });
    expect(malformed.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const row = await messageRow(server, asked.messageId);
    expect(row.status).toBe("AWAITING_APPROVAL");
    expect(row.toolCalls[0]).toMatchObject({ status: "AWAITING_APPROVAL", decidedAt: null, decision: null });
    expect(await server.runtime.prisma.toolPermission.count({ where: { ownerId: other.id } })).toBe(0);

    const stopped = await server.request(StopGeneration, { messageId: asked.messageId }, user.token);
    expect(stopped.data?.stopGeneration.message.status).toBe("CANCELLED");
    await stream.done;
    const message = completed(stream.seen);
    expect(message.status).toBe("CANCELLED");
    expect(message.toolCalls.map((c) => c.status)).toEqual(["CANCELLED"]);
    const after = await messageRow(server, asked.messageId);
    expect(after.conversation.activeReplyId).toBeNull();
    const late = await decide(server, user.token, { toolCallId: asked.toolCall.id, approve: true });
    expect(late.errors?.[0]?.extensions?.code).toBe("CONFLICT");
  });

  it("lets a client attach while the reply waits: a snapshot, then the events after the decision", async () => {
    const user = await newUser();
    fake.script(
      FakeOpenAI.toolCalls([{ id: "call_m", name: "http__echo", arguments: '{"text":"m"}' }], "Hm. "),
      FakeOpenAI.text(["Yes."]),
    );
    const first = send(server, user.token, "attach");
    const asked = await approvalRequested(first);
    await waitFor(() => server.runtime.runs.size === 0, 10_000, "the run to end");
    const attached = watch(
      yogaSSE(server.url, StreamWithTools, { messageId: asked.messageId, afterSeq: 0 }, user.token),
    );
    await waitFor(() => attached.seen.length > 0, 10_000, "the snapshot");
    expect(attached.seen[0]).toMatchObject({
      __typename: "MessageSnapshot",
      seq: 4,
      message: { content: "Hm. ", status: "AWAITING_APPROVAL", toolCalls: [{ status: "AWAITING_APPROVAL" }] },
    });
    await decide(server, user.token, { toolCallId: asked.toolCall.id, approve: true });
    await Promise.all([first.done, attached.done]);
    expect(attached.seen.map((e) => e.__typename)).toEqual([
      "MessageSnapshot",
      "ToolCallStarted",
      "ToolCallCompleted",
      "TextDelta",
      "MessageCompleted",
    ]);
    expect(completed(attached.seen)).toMatchObject({ status: "COMPLETE", content: "Hm. Yes." });
    expect(completed(first.seen)).toEqual(completed(attached.seen));
  });

  it("lists the tool servers with their tools and which of them ask", async () => {
    const user = await newUser();
    const result = await server.request(ToolsQuery, {}, user.token);
    const servers = result.data?.viewer.toolServers ?? [];
    expect(servers.map((s) => [s.name, s.status])).toEqual([
      ["http", "CONNECTED"],
      ["local", "CONNECTED"],
    ]);
    const asks = (name: string) =>
      Object.fromEntries(
        (servers.find((s) => s.name === name)?.tools ?? []).map((t) => [t.name, t.requiresApproval]),
      );
    expect(asks("http")).toMatchObject({ echo: true, slow: true, peek: false, whoami: false });
    expect(asks("local")).toMatchObject({ echo: true, peek: false, whoami: true });
    expect(servers[0]?.tools.find((t) => t.name === "echo")?.description).toBe("Echoes its text.");
    const anonymous = await server.request(ToolsQuery, {}, null);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });
});

describe.each(testDatabaseKinds())("waiting approvals over time and restarts on %s", (kind) => {
  let fake: FakeOpenAI;
  let http: McpHttpFixture;
  let config: string;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    http = await new McpHttpFixture("http").start();
    config = writeMcpConfig(tempDir(), { http: { url: http.url, approval: "always" } });
  });
  afterAll(async () => {
    await http?.stop();
    await fake?.close();
  });

  const env = (extra: Record<string, string> = {}) => ({
    ...fake.serverEnv,
    MCP_CONFIG: config,
    MCP_USER_HEADER: TEST_USER_HEADER,
    ...extra,
  });

  it("denies a call nobody decides on within TOOL_APPROVAL_TIMEOUT_MS, and the reply goes on", async () => {
    const server = await startTestServer(kind, env({ TOOL_APPROVAL_TIMEOUT_MS: "600" }));
    try {
      const user = await newUser();
      const before = fake.requests.length;
      fake.script(
        FakeOpenAI.toolCalls([{ id: "call_t", name: "http__echo", arguments: '{"text":"t"}' }]),
        FakeOpenAI.text(["Nobody answered."]),
      );
      const stream = send(server, user.token, "wait");
      await stream.done;
      const [done] = ofType(stream.seen, "ToolCallCompleted");
      expect(done?.toolCall).toMatchObject({
        status: "DENIED",
        decision: "timed out",
        result: timedOutResult(600),
      });
      expect(completed(stream.seen)).toMatchObject({ status: "COMPLETE", content: "Nobody answered." });
      expect(fake.requests[before + 1]?.body.messages.at(-1)).toMatchObject({ content: timedOutResult(600) });
    } finally {
      await server.close();
    }
  });

  it("keeps a waiting reply through a restart and resumes it when decided on the new process", async () => {
    const database: TestDatabase =
      kind === "pglite"
        ? { kind, target: { kind: "pglite", dataDir: tempDir("pglite-") }, drop: async () => {} }
        : await createTestDatabase(kind);
    const kept = { ...database, drop: async () => {} };
    const user = await newUser();
    fake.script(
      FakeOpenAI.toolCalls([{ id: "call_x", name: "http__echo", arguments: '{"text":"x"}' }], "Asking. "),
      FakeOpenAI.text(["Resumed."]),
    );
    const first = await startTestServer(kind, env(), { database: kept });
    let messageId: string;
    let toolCallId: string;
    try {
      const controller = new AbortController();
      const stream = watch(
        yogaSSE(first.url, SendWithTools, { input: { content: "restart" } }, user.token, controller.signal),
      );
      const asked = await approvalRequested(stream);
      messageId = asked.messageId;
      toolCallId = asked.toolCall.id;
      await waitFor(() => first.runtime.runs.size === 0, 10_000, "the run to end");
      controller.abort();
      await stream.done.catch(() => {});
    } finally {
      await first.close();
    }
    const second = await startTestServer(kind, env(), { database });
    try {
      expect((await messageRow(second, messageId)).status).toBe("AWAITING_APPROVAL");
      const attached = watch(yogaSSE(second.url, StreamWithTools, { messageId, afterSeq: 4 }, user.token));
      const decided = await decide(second, user.token, { toolCallId, approve: true });
      expect(decided.errors).toBeUndefined();
      await attached.done;
      expect(attached.seen.map((e) => e.__typename)).toEqual([
        "ToolCallStarted",
        "ToolCallCompleted",
        "TextDelta",
        "MessageCompleted",
      ]);
      expect(completed(attached.seen)).toMatchObject({ status: "COMPLETE", content: "Asking. Resumed." });
    } finally {
      await second.close();
    }
  });
});

const OTHER_INSTANCE = "a decision made on another instance";
describe.runIf(suiteNeedsPostgres(OTHER_INSTANCE))(OTHER_INSTANCE, { timeout: 60_000 }, () => {
  let fake: FakeOpenAI;
  let http: McpHttpFixture;
  let a: TestServer;
  let b: TestServer;
  const prefix = uniqueRedisPrefix();

  beforeAll(async () => {
    await requireRedis();
    fake = await new FakeOpenAI().start();
    http = await new McpHttpFixture("http").start();
    const config = writeMcpConfig(tempDir(), { http: { url: http.url, approval: "always" } });
    const database = await createTestDatabase("postgres");
    const env = {
      ...fake.serverEnv,
      MCP_CONFIG: config,
      REDIS_URL: testRedisUrl,
      REDIS_KEY_PREFIX: prefix,
    };
    a = await startTestServer("postgres", env, { database: { ...database, drop: async () => {} } });
    b = await startTestServer("postgres", env, { database });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await http?.stop();
    await fake?.close();
    await dropRedisPrefix(prefix);
  });

  it("resumes the reply there, and the stream opened here receives the rest", async () => {
    const user = await newUser();
    fake.script(
      FakeOpenAI.toolCalls([{ id: "call_i", name: "http__echo", arguments: '{"text":"i"}' }]),
      FakeOpenAI.text(["From B."]),
    );
    const stream = send(a, user.token, "instances");
    const asked = await approvalRequested(stream);
    await waitFor(() => a.runtime.runs.size === 0, 10_000, "the run on A to end");
    const decided = await decide(b, user.token, { toolCallId: asked.toolCall.id, approve: true });
    expect(decided.errors).toBeUndefined();
    await stream.done;
    expect(stream.seen.map((e) => e.__typename)).toEqual([
      "MessageCreated",
      "MessageCreated",
      "ToolApprovalRequested",
      "ToolCallStarted",
      "ToolCallCompleted",
      "TextDelta",
      "MessageCompleted",
    ]);
    expect(completed(stream.seen)).toMatchObject({ status: "COMPLETE", content: "From B." });
    expect(http.eventsOf("echo").filter((e) => e.type === "call" && e.metaUser === user.id)).toHaveLength(1);
  });
});
