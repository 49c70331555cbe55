import { randomUUID } from "node:crypto";
import path from "node:path";
import { decodeGlobalID } from "@pothos/plugin-relay";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { roundLimitNote } from "../../src/agent/runs/tool-loop.js";
import { ABANDONED_TOOL_CALL_RESULT, failAbandonedReplies } from "../../src/db/abandoned-replies.js";
import { FakeOpenAI, type RecordedRequest, type Script } from "../fixtures/fake-openai.js";
import { McpHttpFixture } from "../fixtures/mcp-http-server.js";
import { TEST_USER_HEADER } from "../fixtures/mcp-tools.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { fixtureLog, stdioFixtureEntry, tempDir, writeMcpConfig } from "../utils/mcp.js";
import { MessageStream, MessagesQuery, SendMessage, StopGeneration } from "../utils/operations.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { collect, yogaSSE } from "../utils/sse.js";
import {
  conversationIdOf,
  eventsOf,
  increasing,
  isCompleted,
  mergedTypes,
  type StreamEvent,
  waitFor,
} from "../utils/stream-events.js";

const TIMEOUT_MS = 4_000;

describe.each(testDatabaseKinds())("the tool loop over MCP on %s", (kind) => {
  let server: TestServer;
  let fake: FakeOpenAI;
  let http: McpHttpFixture;
  let stdioLog: string;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    http = await new McpHttpFixture("http").start();
    const dir = tempDir();
    stdioLog = path.join(dir, "stdio.log");
    const config = writeMcpConfig(dir, {
      http: { url: http.url },
      local: stdioFixtureEntry(stdioLog, "local"),
    });
    server = await startTestServer(kind, {
      ...fake.serverEnv,
      SYSTEM_PROMPT: "You are a test assistant.",
      MCP_CONFIG: config,
      // A busy machine can take seconds to spawn the stdio fixture: the suite needs it connected at start.
      MCP_CONNECT_TIMEOUT_MS: "30000",
      MCP_USER_HEADER: TEST_USER_HEADER,
      TOOL_CALL_TIMEOUT_MS: String(TIMEOUT_MS),
      TOOL_MAX_ROUNDS: "3",
      TOOL_RESULT_MAX_CHARS: "1000",
      TOOL_RESULT_STORE_MAX_CHARS: "5000",
      TOOL_RESULT_EVENT_MAX_CHARS: "2000",
    });
  });
  afterAll(async () => {
    await server?.close();
    await http?.stop();
    await fake?.close();
  });

  async function newUser() {
    const id = `user-${randomUUID()}`;
    return { id, token: await tokenFor(id) };
  }

  async function send(token: string, content: string, conversationId?: string) {
    const results = await collect(
      yogaSSE(server.url, SendMessage, { input: { content, conversationId } }, token),
      isCompleted,
    );
    return eventsOf(results);
  }

  /** The model requests one reply made, from the count before it was sent. */
  const requestsSince = (before: number) => fake.requests.slice(before);

  function completed(events: StreamEvent[]) {
    const last = events.at(-1);
    if (last?.__typename !== "MessageCompleted") throw new Error("the stream did not complete");
    return last.message;
  }
  const ofType = <T extends StreamEvent["__typename"]>(events: StreamEvent[], type: T) =>
    events.filter((e): e is Extract<StreamEvent, { __typename: T }> => e.__typename === type);

  const rowsOf = (messageGlobalId: string) =>
    server.runtime.prisma.toolCall.findMany({
      where: { messageId: decodeGlobalID(messageGlobalId).id },
      orderBy: { position: "asc" },
    });

  function toolMessages(request: RecordedRequest) {
    return request.body.messages.filter((m) => m.role === "tool");
  }

  it("offers every server's tools namespaced, runs a call, streams and stores it, and feeds the result back", async () => {
    const user = await newUser();
    const before = fake.requests.length;
    fake.script(
      FakeOpenAI.toolCalls(
        [{ id: "call_echo", name: "http__echo", arguments: '{"text":"hi"}' }],
        "Checking. ",
      ),
      FakeOpenAI.text(["The tool said ", "hi."]),
    );
    const events = await send(user.token, "echo hi please");

    expect(mergedTypes(events)).toEqual([
      "MessageCreated",
      "MessageCreated",
      "TextDelta",
      "ToolCallStarted",
      "ToolCallCompleted",
      "TextDelta",
      "MessageCompleted",
    ]);
    const seqs = events.map((e) => e.seq);
    expect(increasing(seqs)).toBe(true);
    expect(seqs.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    expect(seqs.at(-1)).toBe(8);
    const [started] = ofType(events, "ToolCallStarted");
    const [done] = ofType(events, "ToolCallCompleted");
    expect(started?.toolCall).toMatchObject({
      server: "http",
      name: "echo",
      arguments: { text: "hi" },
      result: null,
      isError: false,
    });
    expect(done?.toolCall).toMatchObject({ id: started?.toolCall.id, result: "echo: hi", isError: false });
    expect(done?.toolCall.completedAt).toBeTruthy();
    const message = completed(events);
    expect(message).toMatchObject({ status: "COMPLETE", content: "Checking. The tool said hi." });
    expect(message.toolCalls).toEqual([
      {
        id: started?.toolCall.id,
        name: "echo",
        result: "echo: hi",
        resultLength: 8,
        resultTruncated: false,
        isError: false,
      },
    ]);
    expect(message.usage).toEqual({ promptTokens: 30, completionTokens: 7, totalTokens: 37 });

    const [row] = await rowsOf(message.id);
    expect(row).toMatchObject({
      position: 0,
      round: 0,
      textOffset: "Checking. ".length,
      callId: "call_echo",
      server: "http",
      name: "echo",
      arguments: { text: "hi" },
      result: "echo: hi",
      isError: false,
    });
    expect(row?.completedAt?.getTime()).toBeGreaterThanOrEqual(row?.startedAt.getTime() ?? Number.NaN);

    const [first, second] = requestsSince(before);
    const offered = first?.body.tools?.map((t) => t.function.name) ?? [];
    expect(offered).toEqual(
      expect.arrayContaining(["http__echo", "http__slow", "local__echo", "local__whoami"]),
    );
    const echo = first?.body.tools?.find((t) => t.function.name === "http__echo");
    expect(echo?.function).toMatchObject({
      description: "Echoes its text.",
      parameters: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
    });
    expect(second?.body.messages.slice(-2)).toEqual([
      {
        role: "assistant",
        content: "Checking. ",
        tool_calls: [
          { id: "call_echo", type: "function", function: { name: "http__echo", arguments: '{"text":"hi"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_echo", content: "echo: hi" },
    ]);
    expect(http.eventsOf("echo").at(-1)).toMatchObject({ metaUser: user.id, headerUser: user.id });
  });

  it("runs one round's calls in parallel, across servers", async () => {
    const user = await newUser();
    fake.script(
      FakeOpenAI.toolCalls([
        { name: "http__barrier", arguments: '{"count":2}' },
        { name: "http__barrier", arguments: '{"count":2}' },
        { name: "local__echo", arguments: '{"text":"side"}' },
      ]),
      FakeOpenAI.text(["all done"]),
    );
    const events = await send(user.token, "three at once");
    const types = events.map((e) => e.__typename);
    const lastStarted = types.lastIndexOf("ToolCallStarted");
    expect(types.filter((t) => t === "ToolCallStarted")).toHaveLength(3);
    expect(types.indexOf("ToolCallCompleted")).toBeGreaterThan(lastStarted);
    // Both barrier calls return "together" only if they were waiting at the same time.
    const results = ofType(events, "ToolCallCompleted").map((e) => e.toolCall.result);
    expect(results.sort()).toEqual(["echo: side", "together", "together"]);
    const rows = await rowsOf(completed(events).id);
    expect(rows.map((r) => [r.position, r.round, r.textOffset, r.server, r.name])).toEqual([
      [0, 0, 0, "http", "barrier"],
      [1, 0, 0, "http", "barrier"],
      [2, 0, 0, "local", "echo"],
    ]);
  });

  it("continues over several rounds and replays them into the next turn's history", async () => {
    const user = await newUser();
    const before = fake.requests.length;
    fake.script(
      FakeOpenAI.toolCalls([{ id: "r0", name: "local__echo", arguments: '{"text":"one"}' }], "A"),
      FakeOpenAI.toolCalls([{ id: "r1", name: "http__echo", arguments: '{"text":"two"}' }], "B"),
      FakeOpenAI.text(["C"]),
    );
    const events = await send(user.token, "two rounds");
    const message = completed(events);
    expect(message).toMatchObject({ status: "COMPLETE", content: "ABC" });
    const rows = await rowsOf(message.id);
    expect(rows.map((r) => [r.round, r.textOffset, r.callId, r.result])).toEqual([
      [0, 1, "r0", "echo: one"],
      [1, 2, "r1", "echo: two"],
    ]);
    const requests = requestsSince(before);
    expect(requests).toHaveLength(3);
    const seen = requests[2]?.body.messages.slice(1);

    // The next turn sees the same exchange, rebuilt from the stored rows.
    const conversationId = conversationIdOf(events);
    fake.script(FakeOpenAI.text(["sure"]));
    const replayFrom = fake.requests.length;
    await send(user.token, "and now?", conversationId);
    const replayed = fake.requests[replayFrom]?.body.messages;
    expect(replayed?.slice(1, -1)).toEqual([...(seen ?? []), { role: "assistant", content: "C" }]);
    expect(replayed?.at(-1)).toEqual({ role: "user", content: "and now?" });
    expect(seen?.map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant", "tool"]);
  });

  it("hands failures, malformed arguments and unknown tools back to the model as error results", async () => {
    const user = await newUser();
    const before = fake.requests.length;
    const echoCalls = http.eventsOf("echo").length;
    fake.script(
      FakeOpenAI.toolCalls([
        { id: "bad-json", name: "http__echo", arguments: '{"text": oops' },
        { id: "unknown", name: "nope__tool", arguments: "{}" },
        { id: "fails", name: "http__fail", arguments: "" },
        { id: "throws", name: "local__explode", arguments: "{}" },
        { id: "not-object", name: "http__echo", arguments: "[1,2]" },
      ]),
      FakeOpenAI.text(["sorry"]),
    );
    const events = await send(user.token, "break things");
    expect(completed(events)).toMatchObject({ status: "COMPLETE", content: "sorry" });
    const byCall = new Map(ofType(events, "ToolCallCompleted").map((e) => [e.toolCall.id, e.toolCall]));
    const rows = await rowsOf(completed(events).id);
    const row = (callId: string) => rows.find((r) => r.callId === callId);
    for (const r of rows) expect(byCall.get(r.id)?.isError).toBe(true);

    expect(row("bad-json")).toMatchObject({ arguments: '{"text": oops', isError: true });
    expect(row("bad-json")?.result).toMatch(/^The arguments are not valid JSON/);
    expect(row("unknown")).toMatchObject({ server: "", name: "nope__tool", isError: true });
    expect(row("unknown")?.result).toMatch(/^Unknown tool "nope__tool". Available tools: .*http__echo/);
    expect(row("fails")).toMatchObject({
      server: "http",
      name: "fail",
      arguments: {},
      result: "the tool failed on purpose",
    });
    expect(row("throws")?.result).toMatch(/kaboom/);
    expect(row("not-object")?.result).toBe("The arguments must be a JSON object.");
    // Calls that cannot run never reach the server.
    expect(http.eventsOf("echo")).toHaveLength(echoCalls);

    const results = toolMessages(requestsSince(before)[1] as RecordedRequest);
    expect(results.map((m) => m.tool_call_id)).toEqual([
      "bad-json",
      "unknown",
      "fails",
      "throws",
      "not-object",
    ]);
    expect(results.map((m) => m.content)).toEqual(
      ["bad-json", "unknown", "fails", "throws", "not-object"].map((id) => row(id)?.result),
    );
  });

  it("times a hanging call out, cancels it at the server, and keeps the round's other results", async () => {
    const user = await newUser();
    fake.script(
      FakeOpenAI.toolCalls([
        { id: "hang", name: "http__slow", arguments: '{"ms":60000}' },
        { id: "quick", name: "local__echo", arguments: '{"text":"fast"}' },
      ]),
      FakeOpenAI.text(["one of them hung"]),
    );
    const cancelledBefore = http.eventsOf("slow", "cancelled").length;
    const events = await send(user.token, "hang");
    const rows = await rowsOf(completed(events).id);
    expect(rows.map((r) => [r.callId, r.isError, r.result])).toEqual([
      ["hang", true, `The tool did not answer within ${TIMEOUT_MS} ms; the call was cancelled.`],
      ["quick", false, "echo: fast"],
    ]);
    await waitFor(
      () => http.eventsOf("slow", "cancelled").length > cancelledBefore,
      15_000,
      "the cancellation",
    );
  });

  it("truncates large results for the model, stores them whole up to the limit, bounds them in events, and replays them the same", async () => {
    const user = await newUser();
    const before = fake.requests.length;
    fake.script(
      FakeOpenAI.toolCalls([
        { id: "big", name: "http__big", arguments: '{"size":3000}' },
        { id: "huge", name: "http__big", arguments: '{"size":8000}' },
      ]),
      FakeOpenAI.text(["that was long"]),
    );
    const events = await send(user.token, "give me a lot");
    const digits = (n: number) => Array.from({ length: n }, (_, i) => String(i % 10)).join("");
    const stored = `${digits(5000)}\n[… truncated for storage: 8000 characters in total]`;
    // Events carry only the first TOOL_RESULT_EVENT_MAX_CHARS characters and say how long the whole is.
    const bySize = <T extends { resultLength?: number | null }>(calls: T[]) =>
      calls.sort((a, b) => (a.resultLength ?? 0) - (b.resultLength ?? 0));
    const expectBounded = (
      calls: { result?: string | null; resultLength?: number | null; resultTruncated: boolean }[],
    ) =>
      expect(calls).toMatchObject([
        { result: digits(2000), resultLength: 3000, resultTruncated: true },
        { result: digits(2000), resultLength: stored.length, resultTruncated: true },
      ]);
    expectBounded(bySize(ofType(events, "ToolCallCompleted").map((e) => e.toolCall)));
    expectBounded(bySize([...completed(events).toolCalls]));
    const resumed = eventsOf(
      await collect(
        yogaSSE(server.url, MessageStream, { messageId: completed(events).id, afterSeq: 0 }, user.token),
        isCompleted,
      ),
    );
    expectBounded(bySize([...completed(resumed).toolCalls]));

    // A query reads the whole results.
    const page = await server.request(MessagesQuery, { id: conversationIdOf(events), first: 5 }, user.token);
    const assistant = page.data?.conversation?.messages.edges.at(-1)?.node;
    expect(bySize([...(assistant?.toolCalls ?? [])])).toMatchObject([
      { result: digits(3000), resultLength: 3000, resultTruncated: false },
      { result: stored, resultLength: stored.length, resultTruncated: false },
    ]);

    const seen = toolMessages(requestsSince(before)[1] as RecordedRequest);
    expect(seen.map((m) => m.content)).toEqual([
      `${digits(1000)}\n[… truncated: 2000 of 3000 characters not shown]`,
      `${digits(1000)}\n[… truncated: 7000 of 8000 characters not shown]`,
    ]);

    fake.script(FakeOpenAI.text(["ok"]));
    const replayFrom = fake.requests.length;
    await send(user.token, "again", conversationIdOf(events));
    const replayed = toolMessages(fake.requests[replayFrom] as RecordedRequest);
    expect(replayed[0]?.content).toBe(seen[0]?.content);
    expect(replayed[1]?.content).toMatch(
      new RegExp(`^${digits(1000)}\\n\\[… truncated: \\d+ of \\d+ characters not shown\\]$`),
    );
  });

  it("ends with a clear note when the model still wants tools after the round limit", async () => {
    const user = await newUser();
    const before = fake.requests.length;
    const round = (n: number) =>
      FakeOpenAI.toolCalls([{ name: "local__echo", arguments: `{"text":"${n}"}` }], `${n}.`);
    fake.script(round(0), round(1), round(2), round(3));
    const events = await send(user.token, "loop forever");
    const message = completed(events);
    expect(message.status).toBe("COMPLETE");
    expect(message.content).toBe(`0.1.2.3.\n\n${roundLimitNote(3)}`);
    expect(requestsSince(before)).toHaveLength(4);
    const rows = await rowsOf(message.id);
    expect(rows.map((r) => r.round)).toEqual([0, 1, 2]);
    // The note arrives as text after the last round's (possibly merged with it into one event).
    expect(
      ofType(events, "TextDelta")
        .at(-1)
        ?.delta.endsWith(`\n\n${roundLimitNote(3)}`),
    ).toBe(true);
  });

  it("stops a reply during a tool call: the call is cancelled at the server and the reply ends CANCELLED", async () => {
    const user = await newUser();
    fake.script(
      FakeOpenAI.toolCalls(
        [{ id: "long", name: "http__slow", arguments: '{"ms":60000}' }],
        "Working on it. ",
      ),
    );
    const cancelledBefore = http.eventsOf("slow", "cancelled").length;
    const slowCallsBefore = http.eventsOf("slow").length;
    const events: StreamEvent[] = [];
    for await (const result of yogaSSE(
      server.url,
      SendMessage,
      { input: { content: "slow one" } },
      user.token,
    )) {
      const [event] = eventsOf([result]);
      if (!event) continue;
      events.push(event);
      if (event.__typename === "ToolCallStarted") {
        // Stop once the server runs the call, so the cancellation cannot overtake the request.
        await waitFor(() => http.eventsOf("slow").length > slowCallsBefore, 15_000, "the call to start");
        const stopped = await server.request(StopGeneration, { messageId: event.messageId }, user.token);
        expect(stopped.data?.stopGeneration.message.status).toBe("CANCELLED");
      }
      if (event.__typename === "MessageCompleted") break;
    }
    const message = completed(events);
    expect(message).toMatchObject({ status: "CANCELLED", content: "Working on it. ", error: null });
    const [done] = ofType(events, "ToolCallCompleted");
    expect(done?.toolCall).toMatchObject({
      isError: true,
      result: "The call was cancelled because the reply was stopped.",
    });
    await waitFor(
      () => http.eventsOf("slow", "cancelled").length > cancelledBefore,
      15_000,
      "the cancellation",
    );
    const [row] = await rowsOf(message.id);
    expect(row).toMatchObject({
      isError: true,
      result: "The call was cancelled because the reply was stopped.",
    });
    expect(row?.completedAt).not.toBeNull();
    expect(fake.requests.filter((r) => r.body.messages.some((m) => m.tool_call_id === "long"))).toHaveLength(
      0,
    );
  });

  it("ends the tool calls a crash left running as errors at the next start", async () => {
    const { prisma } = server.runtime;
    const user = await newUser();
    const conversation = await prisma.conversation.create({
      data: {
        ownerId: user.id,
        title: "crashed",
        messageCount: 1,
        messages: {
          create: {
            ownerId: user.id,
            position: 1,
            role: "ASSISTANT",
            status: "STREAMING",
            content: "Let me look. ",
            toolCalls: {
              create: [
                {
                  position: 0,
                  callId: "done",
                  server: "http",
                  name: "echo",
                  arguments: {},
                  result: "echo: ",
                  completedAt: new Date(),
                },
                { position: 1, callId: "running", server: "http", name: "slow", arguments: { ms: 1 } },
              ],
            },
          },
        },
      },
      include: { messages: { include: { toolCalls: { orderBy: { position: "asc" } } } } },
    });
    expect(await failAbandonedReplies(prisma)).toBe(1);
    const calls = await prisma.toolCall.findMany({
      where: { messageId: conversation.messages[0]?.id },
      orderBy: { position: "asc" },
    });
    expect(calls.map((c) => [c.callId, c.isError, c.result, c.completedAt !== null])).toEqual([
      ["done", false, "echo: ", true],
      ["running", true, ABANDONED_TOOL_CALL_RESULT, true],
    ]);
  });

  it("passes each call the identity of the user it acts for, never another's", async () => {
    const [alice, bob] = [await newUser(), await newUser()];
    // Scripts go to requests in arrival order: both replies must ask before either is answered.
    const before = fake.requests.length;
    const bothAsked = waitFor(() => fake.requests.length >= before + 2, 15_000, "both requests");
    const asks = (): Script => {
      const script = FakeOpenAI.toolCalls([
        { name: "http__whoami", arguments: "{}" },
        { name: "local__whoami", arguments: "{}" },
      ]);
      const [first, ...rest] = script.chunks ?? [];
      return { ...script, chunks: [{ ...first, gate: bothAsked }, ...rest] };
    };
    fake.script(asks(), asks(), FakeOpenAI.text(["done"]), FakeOpenAI.text(["done"]));
    const [aliceEvents, bobEvents] = await Promise.all([
      send(alice.token, "who am I?"),
      send(bob.token, "who am I?"),
    ]);
    for (const [user, events] of [
      [alice, aliceEvents],
      [bob, bobEvents],
    ] as const) {
      const results = ofType(events, "ToolCallCompleted").map((e) => [
        e.toolCall.server,
        JSON.parse(e.toolCall.result ?? ""),
      ]);
      expect(results.sort()).toEqual([
        ["http", { meta: user.id, header: user.id }],
        ["local", { meta: user.id, header: null }],
      ]);
    }
    const stdioCalls = fixtureLog(stdioLog).filter((e) => e.type === "call" && e.tool === "whoami");
    expect(stdioCalls.map((e) => (e.type === "call" ? e.metaUser : null)).sort()).toEqual(
      [alice.id, bob.id].sort(),
    );
  });

  it("follows tools/list_changed: a tool added at run time is offered and callable", async () => {
    const user = await newUser();
    fake.script(
      FakeOpenAI.toolCalls([{ name: "http__add_tool", arguments: '{"name":"fresh"}' }]),
      FakeOpenAI.text(["added"]),
    );
    await send(user.token, "add a tool");
    await waitFor(
      () => server.runtime.mcp.list().some((t) => t.name === "http__fresh"),
      15_000,
      "the new tool",
    );
    const before = fake.requests.length;
    fake.script(FakeOpenAI.toolCalls([{ name: "http__fresh", arguments: "" }]), FakeOpenAI.text(["used it"]));
    const events = await send(user.token, "use it");
    expect(fake.requests[before]?.body.tools?.map((t) => t.function.name)).toContain("http__fresh");
    expect(ofType(events, "ToolCallCompleted")[0]?.toolCall).toMatchObject({
      name: "fresh",
      result: "fresh works",
    });
  });
});
