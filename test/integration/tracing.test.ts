import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeOpenAI } from "../fixtures/fake-openai.js";
import { SendMessage } from "../utils/operations.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { collect, yogaSSE } from "../utils/sse.js";
import { isCompleted, waitFor } from "../utils/stream-events.js";

/** A span as OTLP/JSON carries it. */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: Record<string, unknown> }[];
}

/** A local OTLP/HTTP collector: keeps every span it receives. */
async function startCollector() {
  const spans: OtlpSpan[] = [];
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    if (req.url === "/v1/traces") {
      const parsed = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const r of parsed.resourceSpans) for (const s of r.scopeSpans) spans.push(...s.spans);
    }
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, spans, close: () => new Promise((r) => server.close(r)) };
}

const attribute = (span: OtlpSpan | undefined, key: string) =>
  Object.values(span?.attributes.find((a) => a.key === key)?.value ?? {})[0];

describe("OpenTelemetry tracing", () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let fake: FakeOpenAI;
  let server: TestServer;

  beforeAll(async () => {
    collector = await startCollector();
    fake = await new FakeOpenAI().start();
    server = await startTestServer("pglite", {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_SERVICE_NAME: "chat-test",
      ...fake.serverEnv,
    });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
    await collector?.close();
  });

  it("exports a span per request, continuing the caller's trace, and the reply as its child", async () => {
    const token = await tokenFor("traced");
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const response = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "text/event-stream",
        authorization: `Bearer ${token}`,
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      },
      body: JSON.stringify({
        query: 'subscription Traced { sendMessage(input: { content: "trace me" }) { __typename } }',
      }),
    });
    await response.text();
    const plain = await collect(
      yogaSSE(server.url, SendMessage, { input: { content: "untraced caller" } }, token),
    );
    expect(plain.some(isCompleted)).toBe(true);
    await waitFor(
      async () => {
        await server.runtime.tracing?.flush();
        return collector.spans.filter((s) => s.name === "chat.reply").length >= 2;
      },
      15_000,
      "reply spans",
    );

    const request = collector.spans.find(
      (s) => s.traceId === traceId && s.name === "graphql subscription Traced",
    );
    expect(request?.parentSpanId).toBe("00f067aa0ba902b7");
    expect(attribute(request, "http.response.status_code")).toBe(200);
    const reply = collector.spans.find((s) => s.traceId === traceId && s.name === "chat.reply");
    expect(reply?.parentSpanId).toBe(request?.spanId);
    expect(attribute(reply, "chat.reply.status")).toBe("COMPLETE");
    expect(attribute(reply, "gen_ai.request.model")).toBe("fake-model");
    // A caller without a trace starts a new one.
    const other = collector.spans.find((s) => s.name === "graphql subscription SendMessage");
    expect(other?.traceId).not.toBe(traceId);
  });
});
