import { randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import { encodeGlobalID } from "@pothos/plugin-relay";
import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onQuery } from "../../src/db/client.js";
import { deferred, FakeOpenAI } from "../fixtures/fake-openai.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { DeleteConversation, MessageStream, SendMessage, StopGeneration } from "../utils/operations.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { collect, graphqlSSE, type StreamResult, sseClient, yogaSSE } from "../utils/sse.js";
import {
  conversationIdOf,
  eventsOf,
  increasing,
  isCompleted,
  mergedTypes,
  replyText,
  type StreamEvent,
  waitFor,
  watch,
} from "../utils/stream-events.js";

type AnyStream = { sendMessage?: StreamEvent; messageStream?: StreamEvent };

const transports = ["yoga-sse", "graphql-sse-distinct", "graphql-sse-single"] as const;
type Transport = (typeof transports)[number];

describe.each(testDatabaseKinds())("streaming replies on %s", (kind) => {
  let server: TestServer;
  let fake: FakeOpenAI;
  let user: string;
  let token: string;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer(kind, {
      ...fake.serverEnv,
      // Long enough that a test holding the model at a gate never trips it; the stall test uses its own.
      OPENAI_IDLE_TIMEOUT_MS: "30000",
      OPENAI_MAX_RETRIES: "2",
      FLUSH_INTERVAL_MS: "100",
      STREAM_BUFFER_EVENTS: "8",
      SYSTEM_PROMPT: "You are a test assistant.",
    });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  async function freshUser() {
    user = `user-${randomUUID()}`;
    token = await tokenFor(user);
  }

  /** Sends a message over a transport and reads the whole stream. */
  function send(transport: Transport, input: Parameters<typeof sendVars>[0], signal?: AbortSignal) {
    return subscribe(transport, SendMessage, sendVars(input), signal);
  }
  function sendVars(input: {
    content: string;
    conversationId?: string;
    clientMessageId?: string;
    model?: string;
  }) {
    return { input };
  }
  function subscribe<V>(
    transport: Transport,
    document: typeof SendMessage | typeof MessageStream,
    variables: V,
    signal?: AbortSignal,
    as = token,
  ): AsyncIterable<StreamResult<AnyStream>> {
    // biome-ignore lint/suspicious/noExplicitAny: one helper for both subscription documents
    const doc = document as any;
    if (transport === "yoga-sse") return yogaSSE(server.url, doc, variables, as, signal);
    const client = sseClient(server.url, as, transport === "graphql-sse-single");
    return graphqlSSE(client, doc, variables);
  }

  async function sendAll(transport: Transport, input: Parameters<typeof sendVars>[0]) {
    return eventsOf(await collect(send(transport, input), isCompleted));
  }

  const assistantIdOf = (events: StreamEvent[]) => {
    const created = events.filter((e) => e.__typename === "MessageCreated");
    const assistant = created[1];
    if (assistant?.__typename !== "MessageCreated") throw new Error("no assistant MessageCreated");
    return assistant.message.id;
  };

  it("frees the streams of clients gone before their first event, on both SSE endpoints", async () => {
    await freshUser();
    const gate = deferred();
    fake.script({ chunks: [{ content: "held", gate: gate.promise }] });
    let created = 0;
    const started = collect(send("yoga-sse", { content: "start" }), (r) => {
      created += eventsOf([r]).filter((e) => e.__typename === "MessageCreated").length;
      return created === 2;
    });
    const messageId = assistantIdOf(eventsOf(await started));
    const body = JSON.stringify({ query: print(MessageStream), variables: { messageId } });
    // Gone within a few milliseconds: before the response started, or after.
    for (const path of ["/graphql", "/graphql/stream"]) {
      for (let i = 0; i < 8; i++) {
        const abort = new AbortController();
        const response = fetch(`${server.url}${path}`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": "application/json",
            accept: "text/event-stream",
          },
          body,
          signal: abort.signal,
        }).catch(() => null);
        setTimeout(() => abort.abort(), i);
        await response;
      }
    }
    await waitFor(() => server.runtime.streams.size === 0, 5_000, "every dropped stream closed");
    gate.resolve();
  });

  it("gives a graphql-sse client that stops reading the whole text once it reads again", async () => {
    await freshUser();
    // Megabytes of text, well beyond what the sockets' buffers hold: the server has to wait for this client.
    const parts = Array.from({ length: 8_000 }, (_, i) => `${String(i).padStart(4, "0")}${"x".repeat(996)}`);
    fake.script(FakeOpenAI.text(parts));
    const body = JSON.stringify({ query: print(SendMessage), variables: sendVars({ content: "stall" }) });
    const raw = await new Promise<string>((resolve, reject) => {
      const request = httpRequest(
        `${server.url}/graphql/stream`,
        {
          method: "POST",
          headers: {
            authorization: `Bearer ${token}`,
            "content-type": "application/json",
            accept: "text/event-stream",
          },
        },
        (response) => {
          let text = "";
          response.setEncoding("utf8");
          response.on("data", (chunk: string) => {
            text += chunk;
          });
          response.on("end", () => resolve(text));
          // Not read for a while, then read to the end.
          response.pause();
          setTimeout(() => response.resume(), 1_000);
        },
      );
      request.on("error", reject);
      request.end(body);
    });
    const events = raw
      .split("\n\n")
      .filter((message) => message.startsWith("event: next"))
      .map((message) => JSON.parse(message.slice(message.indexOf("data: ") + 6)).data.sendMessage);
    const completed = events.at(-1);
    expect(completed?.__typename).toBe("MessageCompleted");
    // The deltas are the model's text from its start, in order. A reader still far behind when the reply
    // ends gets the rest in the final event, which carries the whole message and replaces the deltas it
    // had not read yet (see RunFeed).
    const whole = parts.join("");
    const streamed = replyText(events);
    expect(streamed.length).toBeGreaterThan(0);
    expect(streamed).toBe(whole.slice(0, streamed.length));
    expect(completed.message.content).toBe(whole);
    expect(events.filter((e) => e.__typename === "TextDelta").length).toBeLessThan(parts.length);
  });

  describe.each(transports)("over %s", (transport) => {
    it("frees the stream when its client goes away, while the reply runs on to the end", async () => {
      await freshUser();
      const gate = deferred();
      fake.script({ chunks: [{ content: "first " }, { content: "second", gate: gate.promise }] });
      const abort = new AbortController();
      const seen: StreamEvent[] = [];
      for await (const r of send(transport, { content: "leave early" }, abort.signal)) {
        seen.push(...eventsOf([r]));
        if (replyText(seen) === "first ") {
          abort.abort();
          break;
        }
      }
      await waitFor(() => server.runtime.streams.size === 0, 5_000, "the dropped stream closed");
      gate.resolve();
      await waitFor(
        async () => {
          const m = await server.db.prisma.message.findFirst({ where: { ownerId: user, role: "ASSISTANT" } });
          return m?.status === "COMPLETE" && m.content === "first second";
        },
        5_000,
        "the reply saved whole",
      );
    });

    it("streams the whole event sequence and saves the reply", async () => {
      await freshUser();
      fake.script(FakeOpenAI.text(["Hel", "lo", " world"]));
      const events = await sendAll(transport, { content: "Say hello to the whole wide world, please" });
      expect(mergedTypes(events)).toEqual([
        "MessageCreated",
        "MessageCreated",
        "TextDelta",
        "MessageCompleted",
      ]);
      expect(replyText(events)).toBe("Hello world");
      expect(increasing(events.map((e) => e.seq))).toBe(true);
      expect(events.slice(0, 2).map((e) => e.seq)).toEqual([1, 2]);
      expect(events.at(-1)?.seq).toBe(6);
      const [userCreated, assistantCreated] = events;
      expect(userCreated).toMatchObject({ message: { role: "USER", status: "COMPLETE", position: 1 } });
      expect(assistantCreated).toMatchObject({
        message: { role: "ASSISTANT", status: "STREAMING", content: "" },
      });
      const completed = events.at(-1);
      expect(completed).toMatchObject({
        __typename: "MessageCompleted",
        message: {
          status: "COMPLETE",
          content: "Hello world",
          model: "fake-model",
          error: null,
          usage: { promptTokens: 10, completionTokens: 3, totalTokens: 13 },
        },
      });

      const rows = await server.db.prisma.message.findMany({
        where: { ownerId: user },
        orderBy: { position: "asc" },
      });
      expect(rows.map((r) => [r.role, r.status, r.content])).toEqual([
        ["USER", "COMPLETE", "Say hello to the whole wide world, please"],
        ["ASSISTANT", "COMPLETE", "Hello world"],
      ]);
      expect(rows[1]?.lastSeq).toBe(6);
      const conversation = await server.db.prisma.conversation.findFirstOrThrow({ where: { ownerId: user } });
      expect(conversation).toMatchObject({
        title: "Say hello to the whole wide world, please",
        messageCount: 2,
      });
      expect(conversation.activeReplyId).toBeNull();

      const request = fake.requests.at(-1);
      expect(request?.body.stream_options).toEqual({ include_usage: true });
      expect(request?.body.messages).toEqual([
        { role: "system", content: "You are a test assistant." },
        { role: "user", content: "Say hello to the whole wide world, please" },
      ]);
    });
  });

  it("hands a reader that keeps up each chunk as its own TextDelta, in order and at once", async () => {
    await freshUser();
    const [second, third] = [deferred(), deferred()];
    fake.script({
      chunks: [
        { content: "a" },
        { content: "b", gate: second.promise },
        { content: "c", gate: third.promise },
      ],
    });
    const { seen, done } = watch(send("graphql-sse-distinct", { content: "one at a time" }));
    await waitFor(() => replyText(seen) === "a", 5_000, "the first chunk");
    second.resolve();
    await waitFor(() => replyText(seen) === "ab", 5_000, "the second chunk");
    third.resolve();
    await done;
    const deltas = seen.filter((e) => e.__typename === "TextDelta");
    expect(deltas.map((e) => [e.seq, e.__typename === "TextDelta" ? e.delta : null])).toEqual([
      [3, "a"],
      [4, "b"],
      [5, "c"],
    ]);
  });

  it("sends history on the next turn and keeps the conversation", async () => {
    await freshUser();
    fake.script(FakeOpenAI.text(["First answer"]));
    const first = await sendAll("yoga-sse", { content: "first question" });
    const conversationId = conversationIdOf(first);
    fake.script(FakeOpenAI.text(["Second answer"]));
    const second = await sendAll("yoga-sse", { content: "second question", conversationId });
    expect(second[0]).toMatchObject({
      message: { position: 3, conversation: { id: conversationId, messageCount: 4 } },
    });
    expect(fake.requests.at(-1)?.body.messages.slice(1)).toEqual([
      { role: "user", content: "first question" },
      { role: "assistant", content: "First answer" },
      { role: "user", content: "second question" },
    ]);
  });

  it("delivers the first event before the model is called", async () => {
    await freshUser();
    fake.script(FakeOpenAI.text(["x"]));
    let firstAt = 0;
    for await (const r of send("yoga-sse", { content: "timing" })) {
      firstAt ||= Date.now();
      if (isCompleted(r)) break;
    }
    expect(firstAt).toBeGreaterThan(0);
    expect(fake.requests.at(-1)?.receivedAt).toBeGreaterThanOrEqual(firstAt);
  });

  it("saves the text while it streams, in batches", async () => {
    await freshUser();
    const gate = deferred();
    fake.script({
      chunks: [
        { content: "part one, " },
        { content: "part two" },
        { content: " and the end", gate: gate.promise },
      ],
    });
    const stream = collect(send("yoga-sse", { content: "stream slowly" }), isCompleted);
    await waitFor(
      async () => {
        const m = await server.db.prisma.message.findFirst({ where: { ownerId: user, role: "ASSISTANT" } });
        return m?.content === "part one, part two";
      },
      5_000,
      "text saved mid-stream",
    );
    const midway = await server.db.prisma.message.findFirstOrThrow({
      where: { ownerId: user, role: "ASSISTANT" },
    });
    expect(midway.status).toBe("STREAMING");
    gate.resolve();
    const events = eventsOf(await stream);
    expect(replyText(events)).toBe("part one, part two and the end");
    const saved = await server.db.prisma.message.findFirstOrThrow({
      where: { ownerId: user, role: "ASSISTANT" },
    });
    expect(saved.content).toBe("part one, part two and the end");
  });

  it("batches writes: a 200-chunk reply costs a few writes a second, not one per token", async () => {
    await freshUser();
    fake.script(
      FakeOpenAI.text(
        Array.from({ length: 200 }, (_, i) => `t${i} `),
        { delayMs: 2 },
      ),
    );
    const updates: string[] = [];
    onQuery(server.db.prisma, (e) => {
      if (/^UPDATE "public"\."Message"/.test(e.query)) updates.push(e.query);
    });
    const started = Date.now();
    const events = await sendAll("yoga-sse", { content: "long one" });
    const elapsed = Date.now() - started;
    expect(replyText(events).split(" ").filter(Boolean)).toHaveLength(200);
    const stored = await server.db.prisma.message.findFirstOrThrow({
      where: { ownerId: user, role: "ASSISTANT" },
    });
    expect(encodeGlobalID("Message", stored.id)).toBe(assistantIdOf(events));
    expect(stored.content).toBe(replyText(events));
    // Flushes at most every 100 ms (FLUSH_INTERVAL_MS) plus the final write; at least one mid-stream flush.
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(updates.length).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 2);
  });

  it("saves a send's exchange in one statement and its end in one, with no transaction around them", async () => {
    await freshUser();
    const statements: string[] = [];
    const listener = (e: { query: string; params: string }) => statements.push(e.query);
    onQuery(server.db.prisma, listener);
    fake.script(FakeOpenAI.text(["one", " two"]));
    const first = await sendAll("yoga-sse", { content: "first turn" });
    fake.script(FakeOpenAI.text(["three"]));
    await sendAll("yoga-sse", { content: "second turn", conversationId: conversationIdOf(first) });
    const flush = /^UPDATE "public"\."Message" AS m/;
    // The approval timeout's periodic sweep may fall inside the window: not part of the sends.
    const sweep = /^\s*UPDATE "ToolCall"/;
    const writes = statements.filter(
      (q) => /^\s*(WITH|INSERT|UPDATE|DELETE)/.test(q) && !flush.test(q) && !sweep.test(q),
    );
    // Per send: the exchange (conversation claimed or created, both messages inserted), then the end.
    expect(writes).toHaveLength(4);
    expect(statements.filter((q) => /^(BEGIN|COMMIT)/i.test(q))).toEqual([]);
    // The first turn's history is the message in hand; the second reads the conversation's.
    expect(fake.requests.at(-2)?.body.messages.at(-1)).toMatchObject({ role: "user", content: "first turn" });
    expect(fake.requests.at(-1)?.body.messages.map((m) => m.content)).toContain("one two");
  });

  it("looks up no attachments for a reply whose history carries none", async () => {
    await freshUser();
    const lookups: string[] = [];
    const listener = (e: { query: string }) => {
      if (/FROM "public"\."MessageAttachment" AS/.test(e.query)) lookups.push(e.query);
    };
    onQuery(server.db.prisma, listener);
    fake.script(FakeOpenAI.text(["one"]));
    const first = await sendAll("yoga-sse", { content: "first turn" });
    fake.script(FakeOpenAI.text(["two"]));
    await sendAll("yoga-sse", { content: "second turn", conversationId: conversationIdOf(first) });
    // The first turn's history is the message in hand, sent without files; the second's path read says
    // which of its messages carry attachments (none).
    expect(lookups).toEqual([]);
    expect(fake.requests.at(-1)?.body.messages.map((m) => m.content)).toEqual([
      expect.any(String),
      "first turn",
      "one",
      "second turn",
    ]);
  });

  it("saves concurrent replies' text together: one statement per flush interval for all of them", async () => {
    await freshUser();
    const parts = Array.from({ length: 60 }, (_, i) => `c${i} `);
    fake.script(...[0, 1, 2].map(() => FakeOpenAI.text(parts, { delayMs: 5 })));
    const batches: string[] = [];
    onQuery(server.db.prisma, (e) => {
      if (/^UPDATE "public"\."Message" AS m/.test(e.query)) batches.push(e.params);
    });
    const started = Date.now();
    const results = await Promise.all(
      [0, 1, 2].map((i) => sendAll("yoga-sse", { content: `parallel ${i}` })),
    );
    const elapsed = Date.now() - started;
    const ids = results.map((events) => assistantIdOf(events));
    for (const events of results) expect(replyText(events)).toBe(parts.join(""));
    const stored = await server.db.prisma.message.findMany({ where: { ownerId: user, role: "ASSISTANT" } });
    expect(stored.map((m) => m.content)).toEqual([0, 1, 2].map(() => parts.join("")));
    // At most one batch per 100 ms (FLUSH_INTERVAL_MS) for the three replies together, and one of them
    // carried all three.
    expect(batches.length).toBeGreaterThanOrEqual(1);
    expect(batches.length).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 1);
    const rawIds = stored.map((m) => m.id);
    expect(ids).toHaveLength(3);
    expect(batches.some((params) => rawIds.every((id) => params.includes(id)))).toBe(true);
  });

  it("resumes from an afterSeq beyond the reply's last event with a snapshot, then live events to the end", async () => {
    await freshUser();
    const gate = deferred();
    fake.script({
      chunks: [{ content: "so " }, { content: "far" }, { content: " and on", gate: gate.promise }],
    });
    const abort = new AbortController();
    let text = "";
    const first = collect(send("yoga-sse", { content: "run ahead" }, abort.signal), (r) => {
      text += replyText(eventsOf([r]));
      return text === "so far";
    });
    const messageId = assistantIdOf(eventsOf(await first));
    abort.abort();
    await waitFor(() => server.runtime.streams.size === 0, 5_000, "the dropped stream closed");
    const bounded = AbortSignal.timeout(10_000);
    const ahead = collect(
      subscribe("yoga-sse", MessageStream, { messageId, afterSeq: 1_000 }, bounded),
      isCompleted,
    );
    await waitFor(() => server.runtime.streams.size === 1, 5_000, "the resumed stream");
    gate.resolve();
    const events = eventsOf(await ahead);
    expect(events[0]).toMatchObject({
      __typename: "MessageSnapshot",
      seq: 4,
      message: { content: "so far" },
    });
    expect(events.at(-1)).toMatchObject({
      __typename: "MessageCompleted",
      message: { content: "so far and on" },
    });
    expect(events[0]?.__typename === "MessageSnapshot" ? events[0].message.content : "").toBe("so far");
    expect(replyText(events.slice(1))).toBe(" and on");

    const finished = eventsOf(
      await collect(
        subscribe("yoga-sse", MessageStream, { messageId, afterSeq: 1_000 }, AbortSignal.timeout(10_000)),
        isCompleted,
      ),
    );
    expect(finished.map((e) => e.__typename)).toEqual(["MessageCompleted"]);
  });

  it("keeps running when the client disconnects, and resumes exactly from any afterSeq", async () => {
    await freshUser();
    const gate = deferred();
    const parts = Array.from({ length: 12 }, (_, i) => `w${i} `);
    fake.script({
      chunks: parts.map((content, i) => ({ content, gate: i === 6 ? gate.promise : undefined })),
      usage: { prompt_tokens: 1, completion_tokens: 12, total_tokens: 13 },
    });
    const abort = new AbortController();
    const seen: StreamEvent[] = [];
    for await (const r of send("yoga-sse", { content: "resume me" }, abort.signal)) {
      seen.push(...eventsOf([r]));
      // At least three chunks read (the first ones may come merged into fewer events).
      if (replyText(seen).length >= parts.slice(0, 3).join("").length) {
        abort.abort();
        break;
      }
    }
    const messageId = assistantIdOf(seen);
    const lastSeen = seen.at(-1)?.seq ?? 0;
    // The run goes on without its client: the first six chunks arrive (seq 3..8). The model's idle
    // timeout (600 ms) runs from the sixth chunk, so everything up to gate.resolve() must fit in it.
    await waitFor(
      async () => {
        if (server.runtime.streams.size !== 0) return false; // the dropped stream has closed
        const m = await server.db.prisma.message.findFirst({ where: { ownerId: user, role: "ASSISTANT" } });
        return m?.content === parts.slice(0, 6).join("");
      },
      5_000,
      "text saved after disconnect",
    );

    const resumes = [0, 2, lastSeen, 7].map((afterSeq) => ({
      afterSeq,
      events: collect(subscribe("yoga-sse", MessageStream, { messageId, afterSeq }), isCompleted),
    }));
    // All four attached before the model goes on (on a loaded machine that can take a while).
    await waitFor(() => server.runtime.streams.size === 4, 20_000, "four resumed streams");
    await new Promise((r) => setTimeout(r, 50));
    gate.resolve();
    for (const resume of resumes) {
      const events = eventsOf(await resume.events);
      const seqs = events.map((e) => e.seq);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      if (events[0]?.__typename === "MessageSnapshot") {
        // Too far back for the buffer (8 events): a snapshot, then live events with no gap.
        expect(resume.afterSeq).toBeLessThan(seqs[0] as number);
      } else {
        expect(seqs[0]).toBeGreaterThan(resume.afterSeq);
      }
      const expected =
        resume.afterSeq >= 2 && events[0]?.__typename !== "MessageSnapshot"
          ? parts.slice(resume.afterSeq - 2).join("")
          : parts.join("");
      expect(replyText(events)).toBe(expected);
      expect(events.at(-1)).toMatchObject({
        __typename: "MessageCompleted",
        message: { content: parts.join("") },
      });
    }
    expect(replyText(seen) + parts.slice(lastSeen - 2).join("")).toBe(parts.join(""));

    const finished = eventsOf(
      await collect(subscribe("yoga-sse", MessageStream, { messageId, afterSeq: 3 }), isCompleted),
    );
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({
      __typename: "MessageCompleted",
      seq: 15,
      message: { status: "COMPLETE" },
    });
  });

  it("stops a reply with stopGeneration: CANCELLED, partial text kept, model request aborted", async () => {
    await freshUser();
    const gate = deferred();
    fake.script({
      chunks: [{ content: "partial " }, { content: "text" }, { content: " never", gate: gate.promise }],
    });
    const { seen, done: streaming } = watch(send("graphql-sse-distinct", { content: "stop me" }));
    await waitFor(() => replyText(seen) === "partial text", 5_000, "two chunks");
    const request = fake.requests.at(-1);
    const stopped = await server.request(StopGeneration, { messageId: assistantIdOf(seen) }, token);
    expect(stopped.data?.stopGeneration.message).toMatchObject({
      status: "CANCELLED",
      content: "partial text",
    });
    await streaming;
    expect(seen.at(-1)).toMatchObject({
      __typename: "MessageCompleted",
      message: { status: "CANCELLED", content: "partial text" },
    });
    await request?.aborted;
    gate.resolve();
    const conversation = await server.db.prisma.conversation.findFirstOrThrow({ where: { ownerId: user } });
    expect(conversation.activeReplyId).toBeNull();
  });

  it("ends FAILED with a clear error when the model refuses the request", async () => {
    await freshUser();
    fake.script({ status: 400, errorMessage: "context length exceeded" });
    const events = await sendAll("yoga-sse", { content: "fail please" });
    expect(events.at(-1)).toMatchObject({
      __typename: "MessageCompleted",
      message: { status: "FAILED", error: expect.stringMatching(/HTTP 400.*context length exceeded/) },
    });
  });

  it("retries 5xx answers before the first token", async () => {
    await freshUser();
    const before = fake.requests.length;
    fake.script({ status: 503 }, { status: 500 }, FakeOpenAI.text(["recovered"]));
    const events = await sendAll("yoga-sse", { content: "flaky model" });
    expect(events.at(-1)).toMatchObject({ message: { status: "COMPLETE", content: "recovered" } });
    expect(fake.requests.length - before).toBe(3);
  });

  it("ends FAILED, keeping the text, when the model stream breaks in the middle", async () => {
    await freshUser();
    fake.script({
      chunks: [{ content: "half " }, { content: "a reply" }, { content: "lost" }],
      breakAfter: 2,
    });
    const events = await sendAll("yoga-sse", { content: "break" });
    expect(events.at(-1)).toMatchObject({ message: { status: "FAILED", content: "half a reply" } });
    const saved = await server.db.prisma.message.findFirstOrThrow({
      where: { ownerId: user, role: "ASSISTANT" },
    });
    expect(saved).toMatchObject({ status: "FAILED", content: "half a reply" });
    expect(saved.error).toBeTruthy();
  });

  it("ends FAILED when the model stalls past the idle timeout", async () => {
    await freshUser();
    const impatient = await startTestServer(kind, {
      OPENAI_BASE_URL: fake.url,
      OPENAI_API_KEY: "test-key",
      OPENAI_IDLE_TIMEOUT_MS: "600",
    });
    try {
      fake.script({ chunks: [{ content: "and then" }, { content: "silence" }], stallAfter: 1 });
      const events = eventsOf(
        await collect(
          yogaSSE(impatient.url, SendMessage, { input: { content: "stall" } }, token),
          isCompleted,
        ),
      );
      expect(events.at(-1)).toMatchObject({
        message: {
          status: "FAILED",
          content: "and then",
          error: expect.stringMatching(/sent nothing for 600 ms/),
        },
      });
    } finally {
      await impatient.close();
    }
  });

  it("makes one message and one reply for the same clientMessageId, sent twice at once", async () => {
    await freshUser();
    const gate = deferred();
    fake.script(FakeOpenAI.text(["created"]));
    const first = await sendAll("yoga-sse", { content: "create the conversation" });
    const conversationId = conversationIdOf(first);
    const input = { content: "idempotent", conversationId, clientMessageId: "client-key-1" };
    fake.script({ chunks: [{ content: "only " }, { content: "once", gate: gate.promise }] });
    const a = collect(send("yoga-sse", input), isCompleted);
    const b = collect(send("graphql-sse-distinct", input), isCompleted);
    await waitFor(() => server.runtime.streams.size === 2, 5_000, "both sends attached");
    await new Promise((r) => setTimeout(r, 20));
    gate.resolve();
    const [ea, eb] = [eventsOf(await a), eventsOf(await b)];
    expect(assistantIdOf(ea)).toBe(assistantIdOf(eb));
    expect(replyText(ea)).toBe("only once");
    expect(replyText(eb)).toBe("only once");
    expect(
      await server.db.prisma.message.count({ where: { ownerId: user, clientMessageId: "client-key-1" } }),
    ).toBe(1);
    expect(await server.db.prisma.message.count({ where: { ownerId: user } })).toBe(4);

    const again = await sendAll("graphql-sse-single", input);
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({
      __typename: "MessageCompleted",
      message: { id: assistantIdOf(ea), content: "only once" },
    });
  });

  it("makes one conversation for the same clientMessageId on a first message, sent twice at once and retried", async () => {
    await freshUser();
    const gate = deferred();
    const input = { content: "a first message, retried", clientMessageId: `first-${randomUUID()}` };
    fake.script({ chunks: [{ content: "one " }, { content: "conversation", gate: gate.promise }] });
    const a = collect(send("yoga-sse", input), isCompleted);
    const b = collect(send("graphql-sse-distinct", input), isCompleted);
    await waitFor(() => server.runtime.streams.size === 2, 5_000, "both sends attached");
    gate.resolve();
    const [ea, eb] = [eventsOf(await a), eventsOf(await b)];
    expect(assistantIdOf(ea)).toBe(assistantIdOf(eb));
    expect(replyText(eb)).toBe("one conversation");
    expect(await server.db.prisma.conversation.count({ where: { ownerId: user } })).toBe(1);
    expect(await server.db.prisma.message.count({ where: { ownerId: user } })).toBe(2);

    // The retry after the reply ended, without and with the conversation id the first answer gave.
    for (const retry of [input, { ...input, conversationId: conversationIdOf(eb) }]) {
      const again = await sendAll("graphql-sse-single", retry);
      expect(again).toHaveLength(1);
      expect(again[0]).toMatchObject({
        __typename: "MessageCompleted",
        message: { id: assistantIdOf(ea), content: "one conversation" },
      });
    }
    expect(await server.db.prisma.conversation.count({ where: { ownerId: user } })).toBe(1);
    expect(await server.db.prisma.message.count({ where: { ownerId: user } })).toBe(2);
    expect(fake.requests.filter((r) => r.body.messages.at(-1)?.content === input.content)).toHaveLength(1);
  });

  it("answers CONFLICT to a second send while a reply runs, writing nothing", async () => {
    await freshUser();
    const gate = deferred();
    fake.script({ chunks: [{ content: "busy" }, { content: "!", gate: gate.promise }] });
    const { seen, done: running } = watch(send("yoga-sse", { content: "long task" }));
    await waitFor(() => seen.length >= 2, 5_000, "reply started");
    const conversationId = conversationIdOf(seen);
    const [conflict] = await collect(send("yoga-sse", { content: "meanwhile", conversationId }));
    expect(conflict?.errors?.[0]?.extensions?.code).toBe("CONFLICT");
    expect(await server.db.prisma.message.count({ where: { ownerId: user } })).toBe(2);
    gate.resolve();
    await running;
  });

  it("answers NOT_FOUND for another user's conversation and BAD_USER_INPUT for bad input, writing nothing", async () => {
    await freshUser();
    fake.script(FakeOpenAI.text(["mine"]));
    const mine = await sendAll("yoga-sse", { content: "private" });
    const conversationId = conversationIdOf(mine);
    const owner = user;
    await freshUser();
    const [foreign] = await collect(send("yoga-sse", { content: "intrude", conversationId }));
    expect(foreign?.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const [empty] = await collect(send("yoga-sse", { content: "   " }));
    expect(empty?.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const [long] = await collect(send("yoga-sse", { content: "x".repeat(32_001) }));
    expect(long?.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(await server.db.prisma.message.count({ where: { ownerId: { in: [owner, user] } } })).toBe(2);
    const [resumeForeign] = await collect(
      subscribe("yoga-sse", MessageStream, { messageId: assistantIdOf(mine), afterSeq: 0 }),
    );
    expect(resumeForeign?.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
  });

  it("refuses a subscription from a client that cannot read a stream, before it writes anything", async () => {
    await freshUser();
    const requestsBefore = fake.requests.length;
    for (const accept of ["application/json", "application/graphql-response+json, application/json"]) {
      const response = await server.request(SendMessage, sendVars({ content: "no stream for me" }), token, {
        headers: { accept },
      });
      expect(response.errors?.map((e) => e.extensions?.code)).toEqual(["BAD_USER_INPUT"]);
      expect(response.errors?.[0]?.message).toMatch(/text\/event-stream/);
    }
    expect(await server.db.prisma.message.count({ where: { ownerId: user } })).toBe(0);
    expect(fake.requests.length).toBe(requestsBefore);
    // The same operation with a stream it can read runs (the stream slots were never taken).
    fake.script(FakeOpenAI.text(["streamed"]));
    expect(replyText(await sendAll("yoga-sse", { content: "now with a stream" }))).toBe("streamed");
  });

  it("stops the running reply when its conversation is deleted", async () => {
    await freshUser();
    const gate = deferred();
    fake.script({ chunks: [{ content: "doomed" }, { content: "!", gate: gate.promise }] });
    const { seen, done: running } = watch(send("yoga-sse", { content: "delete me" }));
    await waitFor(() => seen.some((e) => e.__typename === "TextDelta"), 5_000, "first delta");
    const conversationId = conversationIdOf(seen);
    const deleted = await server.request(DeleteConversation, { id: conversationId }, token);
    expect(deleted.errors).toBeUndefined();
    await running;
    expect(seen.at(-1)).toMatchObject({ __typename: "MessageCompleted", message: { status: "CANCELLED" } });
    expect(await server.db.prisma.message.count({ where: { ownerId: user } })).toBe(0);
    gate.resolve();
  });
});
