import { randomUUID } from "node:crypto";
import { decodeGlobalID } from "@pothos/plugin-relay";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STOPPED_REPLY_NOTE } from "../../src/agent/runs/conversation-history.js";
import { deferred, FakeOpenAI } from "../fixtures/fake-openai.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { StopGeneration } from "../utils/operations.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { yogaSSE } from "../utils/sse.js";
import { increasing, mergedTypes, waitFor } from "../utils/stream-events.js";
import { MessageReasoning, SendWithTools, type ToolEvent, toolEventsOf } from "../utils/tool-operations.js";

function watch(stream: AsyncIterable<Parameters<typeof toolEventsOf>[0][number]>) {
  const seen: ToolEvent[] = [];
  const done = (async () => {
    for await (const result of stream) {
      seen.push(...toolEventsOf([result]));
      if (seen.at(-1)?.__typename === "MessageCompleted") return;
    }
  })();
  return { seen, done };
}

function completed(events: ToolEvent[]) {
  const last = events.at(-1);
  if (last?.__typename !== "MessageCompleted") throw new Error("the stream did not complete");
  return last.message;
}

const conversationOf = (events: ToolEvent[]) => {
  const created = events.find((e) => e.__typename === "MessageCreated");
  if (created?.__typename !== "MessageCreated") throw new Error("no MessageCreated");
  return created.message.conversation.id;
};

describe.each(testDatabaseKinds())("reasoning and honest stops on %s", (kind) => {
  let server: TestServer;
  let fake: FakeOpenAI;
  let token: string;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    server = await startTestServer(kind, { ...fake.serverEnv, FLUSH_INTERVAL_MS: "50" });
    token = await tokenFor(`user-${randomUUID()}`);
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  const send = (content: string, conversationId?: string) =>
    watch(yogaSSE(server.url, SendWithTools, { input: { content, conversationId } }, token));

  it("streams reasoning as ReasoningDelta events, stores it as Message.reasoning, and never sends it back", async () => {
    fake.script(FakeOpenAI.reasoning(["Let me ", "think."], ["The answer", " is 4."]));
    const first = send("2+2?");
    await first.done;
    expect(mergedTypes(first.seen)).toEqual([
      "MessageCreated",
      "MessageCreated",
      "ReasoningDelta",
      "TextDelta",
      "MessageCompleted",
    ]);
    // Chunks that arrive together may come merged: the seqs only increase, the last one is the fourth chunk's.
    const reasoning = first.seen.filter((e) => e.__typename === "ReasoningDelta");
    expect(reasoning.map((e) => e.delta).join("")).toBe("Let me think.");
    expect(increasing(first.seen.map((e) => e.seq))).toBe(true);
    expect(reasoning.at(-1)?.seq).toBe(4);
    const message = completed(first.seen);
    expect(message).toMatchObject({
      content: "The answer is 4.",
      reasoning: "Let me think.",
      status: "COMPLETE",
    });
    const node = await server.request(MessageReasoning, { id: message.id }, token);
    expect(node.data?.node).toEqual({
      content: "The answer is 4.",
      reasoning: "Let me think.",
      status: "COMPLETE",
    });

    const before = fake.requests.length;
    fake.script(FakeOpenAI.text(["ok"]));
    await send("and 3+3?", conversationOf(first.seen)).done;
    const sent = JSON.stringify(fake.requests[before]?.body.messages);
    expect(sent).toContain("The answer is 4.");
    expect(sent).not.toContain("think.");
  });

  it("saves reasoning with the text in the batched flushes while the reply streams (the `reasoning` field too)", async () => {
    const gate = deferred();
    fake.script({
      chunks: [
        { reasoning: "step one; " },
        { reasoning: "step two" },
        { content: "Done.", gate: gate.promise },
      ],
      reasoningField: "reasoning",
    });
    const reply = send("think slowly");
    await waitFor(
      () =>
        reply.seen.flatMap((e) => (e.__typename === "ReasoningDelta" ? [e.delta] : [])).join("") ===
        "step one; step two",
      10_000,
    );
    const created = reply.seen[1];
    if (created?.__typename !== "MessageCreated") throw new Error("no assistant message");
    const id = decodeGlobalID(created.message.id).id;
    await waitFor(
      async () =>
        (await server.runtime.prisma.message.findUnique({ where: { id } }))?.reasoning ===
        "step one; step two",
      10_000,
      "the reasoning to be flushed",
    );
    const row = await server.runtime.prisma.message.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({ status: "STREAMING", content: "", lastSeq: 4 });
    gate.resolve();
    await reply.done;
    expect(completed(reply.seen)).toMatchObject({ content: "Done.", reasoning: "step one; step two" });
  });

  it("tells the model in the next turn that the user stopped the previous reply", async () => {
    const gate = deferred();
    fake.script({ chunks: [{ content: "Half an ans" }, { content: "wer", gate: gate.promise }] });
    const reply = send("long question");
    await waitFor(() => reply.seen.some((e) => e.__typename === "TextDelta"), 10_000, "the first delta");
    const created = reply.seen[1];
    if (created?.__typename !== "MessageCreated") throw new Error("no assistant message");
    const stopped = await server.request(StopGeneration, { messageId: created.message.id }, token);
    expect(stopped.data?.stopGeneration.message.status).toBe("CANCELLED");
    await reply.done;
    gate.resolve();

    const before = fake.requests.length;
    fake.script(FakeOpenAI.text(["Sorry, go on."]));
    await send("why did you stop?", conversationOf(reply.seen)).done;
    expect(fake.requests[before]?.body.messages.slice(-3)).toEqual([
      { role: "assistant", content: "Half an ans" },
      { role: "system", content: STOPPED_REPLY_NOTE },
      { role: "user", content: "why did you stop?" },
    ]);
    // A finished reply carries no such note.
    const after = fake.requests.length;
    fake.script(FakeOpenAI.text(["fine"]));
    await send("thanks", conversationOf(reply.seen)).done;
    const notes = fake.requests[after]?.body.messages.filter((m) => m.content === STOPPED_REPLY_NOTE);
    expect(notes).toHaveLength(1);
  });
});
