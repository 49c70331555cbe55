import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { deferred, FakeOpenAI } from "../fixtures/fake-openai.js";
import { SendMessage } from "../utils/operations.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { collect, yogaSSE } from "../utils/sse.js";
import { isCompleted, waitFor } from "../utils/stream-events.js";

// What an operator sees: JSON logs whose request id follows a reply from request to completion,
// Prometheus metrics, and a readiness probe that reflects the dependencies.

/** Reads one sample's value from Prometheus text, or null when absent. */
function sample(metrics: string, name: string, labels = ""): number | null {
  const line = metrics.split("\n").find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ""} `));
  return line ? Number(line.split(" ").at(-1)) : null;
}

describe("operations", () => {
  let server: TestServer;
  let fake: FakeOpenAI;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    const destination = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    server = await startTestServer(
      "pglite",
      { ...fake.serverEnv, OPENAI_MAX_RETRIES: "0" },
      { logger: createLogger({ level: "info", destination }) },
    );
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  async function metrics() {
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    return response.text();
  }

  it("follows a reply from request to completion with one request id in every log line", async () => {
    const token = await tokenFor(`logged-${randomUUID()}`);
    const requestId = `req-${randomUUID()}`;
    const response = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "text/event-stream",
        authorization: `Bearer ${token}`,
        "x-request-id": requestId,
      },
      body: JSON.stringify({
        query: 'subscription { sendMessage(input: { content: "log me" }) { __typename } }',
      }),
    });
    expect(response.headers.get("x-request-id")).toBe(requestId);
    await response.text();
    await waitFor(
      () => lines.some((l) => l.msg === "reply ended" && l.requestId === requestId),
      10_000,
      "reply end",
    );
    const mine = lines.filter((l) => l.requestId === requestId);
    expect(mine.map((l) => l.msg)).toEqual(
      expect.arrayContaining(["request", "reply started", "reply ended"]),
    );
    const ended = mine.find((l) => l.msg === "reply ended");
    expect(ended).toMatchObject({
      status: "COMPLETE",
      messageId: expect.any(String),
      userId: expect.any(String),
    });
  });

  it("makes up a request id when the client sends none (or an unsafe one)", async () => {
    for (const given of [undefined, "bad id with spaces; and {json}"]) {
      const response = await fetch(`${server.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(given ? { "x-request-id": given } : {}) },
        body: JSON.stringify({ query: "{ __typename }" }),
      });
      expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    }
  });

  it("exports request, phase, reply, event and token metrics", async () => {
    const token = await tokenFor(`metered-${randomUUID()}`);
    const before = await metrics();
    fake.script(FakeOpenAI.text(["one ", "two ", "three"]));
    const results = await collect(
      yogaSSE(server.url, SendMessage, { input: { content: "count me" } }, token),
    );
    expect(results.some(isCompleted)).toBe(true);
    const after = await metrics();
    const delta = (name: string, labels = "") =>
      (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
    expect(delta("chat_replies_total", 'status="COMPLETE"')).toBe(1);
    expect(delta("chat_stream_events_total", 'type="TextDelta"')).toBe(3);
    expect(delta("chat_stream_events_total", 'type="MessageCreated"')).toBe(2);
    expect(delta("chat_tokens_total", 'kind="prompt"')).toBe(10);
    expect(delta("chat_tokens_total", 'kind="completion"')).toBe(3);
    for (const phase of ["history", "first_token", "total"]) {
      expect(delta("chat_reply_phase_seconds_count", `phase="${phase}"`)).toBe(1);
    }
    // The subscription, timed from its start to the end of its stream.
    for (const name of [
      "graphql_envelop_request",
      "graphql_envelop_phase_subscribe_count",
      "graphql_envelop_request_duration_count",
      "graphql_envelop_request_time_summary_count",
    ])
      expect(delta(name, 'operationType="subscription"')).toBe(1);
    expect(after).toMatch(/graphql_yoga_http_duration_count\{[^}]*method="POST"/);
    expect(after).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(after).not.toMatch(/operationName=/);
  });

  it("counts the errors subscriptions answer with, masked as any other", async () => {
    const token = await tokenFor(`refused-${randomUUID()}`);
    const count = (text: string) =>
      text
        .split("\n")
        .filter(
          (l) => l.startsWith("graphql_envelop_error_result{") && l.includes('operationType="subscription"'),
        )
        .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
    const before = count(await metrics());
    const requestsBefore = fake.requests.length;
    const [empty] = await collect(yogaSSE(server.url, SendMessage, { input: { content: "   " } }, token));
    expect(empty?.errors?.map((e) => e.extensions?.code)).toEqual(["BAD_USER_INPUT"]);
    const missing = `Conversation:${randomUUID()}`;
    const [foreign] = await collect(
      yogaSSE(
        server.url,
        SendMessage,
        { input: { content: "hi", conversationId: Buffer.from(missing).toString("base64") } },
        token,
      ),
    );
    expect(foreign?.errors?.map((e) => e.extensions?.code)).toEqual(["NOT_FOUND"]);
    expect(JSON.stringify(foreign)).not.toMatch(/stack|prisma|SELECT/i);
    expect(count(await metrics()) - before).toBe(2);
    expect(fake.requests.length).toBe(requestsBefore);
  });

  it("counts model errors and shows running replies", async () => {
    const token = await tokenFor(`failing-${randomUUID()}`);
    const before = sample(await metrics(), "chat_model_errors_total") ?? 0;
    fake.script({ status: 500, errorMessage: "model down" });
    const failed = await collect(yogaSSE(server.url, SendMessage, { input: { content: "fail" } }, token));
    expect(failed.at(-1)?.data?.sendMessage).toMatchObject({ message: { status: "FAILED" } });
    expect(sample(await metrics(), "chat_model_errors_total")).toBe(before + 1);

    const gate = deferred();
    fake.script({ chunks: [{ content: "held", gate: gate.promise }] });
    const running = collect(yogaSSE(server.url, SendMessage, { input: { content: "hold" } }, token));
    await waitFor(() => server.runtime.runs.size === 1, 10_000, "the run");
    const during = await metrics();
    expect(sample(during, "chat_replies_running")).toBe(1);
    expect(sample(during, "chat_streams_open")).toBe(1);
    gate.resolve();
    await running;
  });

  it("reports readiness per check, including checks other parts register", async () => {
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", checks: { database: "ok", accepting: "ok" } });
    server.runtime.readiness.add("mcp:docs", async () => {
      throw new Error("server exited");
    });
    const failing = await fetch(`${server.url}/readyz`);
    expect(failing.status).toBe(503);
    expect(await failing.json()).toEqual({
      status: "unavailable",
      checks: { database: "ok", accepting: "ok", "mcp:docs": "failed" },
    });
    expect(lines.some((l) => l.msg === "not ready" && l.check === "mcp:docs")).toBe(true);
    server.runtime.readiness.remove("mcp:docs");
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });
});

describe("metrics switch and readiness at shutdown", () => {
  it("serves no /metrics with METRICS=false, and is not ready once shutdown begins", async () => {
    const server = await startTestServer("pglite", { METRICS: "false" });
    try {
      expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
      await server.runtime.stopRuns(0);
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ checks: { accepting: "failed" } });
    } finally {
      await server.close();
    }
  });
});

describe("metrics of tool calls", () => {
  it("count completed tool calls by outcome", async () => {
    const metrics = createMetrics({ runningReplies: () => 0, openStreams: () => 0 });
    const toolCall = (isError: boolean) =>
      ({ type: "ToolCallCompleted", seq: 1, messageId: "m", toolCall: { isError } }) as never;
    metrics.runs.event(toolCall(false));
    metrics.runs.event(toolCall(true));
    metrics.runs.event(toolCall(true));
    const text = await metrics.registry.metrics();
    expect(sample(text, "chat_tool_calls_total", 'outcome="ok"')).toBe(1);
    expect(sample(text, "chat_tool_calls_total", 'outcome="error"')).toBe(2);
  });
});
