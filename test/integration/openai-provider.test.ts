import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpenAIProvider } from "../../src/agent/model/openai.js";
import type { ModelEvent } from "../../src/agent/model/provider.js";
import { FakeOpenAI } from "../fixtures/fake-openai.js";

describe("OpenAIProvider against an OpenAI-compatible server", () => {
  let fake: FakeOpenAI;
  let provider: OpenAIProvider;

  beforeAll(async () => {
    fake = await new FakeOpenAI().start();
    provider = new OpenAIProvider({
      baseURL: fake.url,
      model: "fake-model",
      timeoutMs: 5_000,
      idleTimeoutMs: 5_000,
      maxRetries: 0,
    });
  });
  afterAll(() => fake.close());

  const ask = (signal = new AbortController().signal) =>
    provider.stream({ messages: [{ role: "user", content: "hi" }], signal });

  async function collect(events: AsyncIterable<ModelEvent>) {
    const seen: ModelEvent[] = [];
    try {
      for await (const event of events) seen.push(event);
    } catch (error) {
      return { seen, error };
    }
    return { seen, error: undefined };
  }

  it("streams reasoning, text, tool-call fragments, the finish reason and usage, in order", async () => {
    fake.script({
      chunks: [
        { reasoning: "think" },
        { content: "Hé" },
        { content: "llo" },
        { toolCalls: [{ index: 0, id: "call_1", name: "t", arguments: '{"a"' }] },
        { toolCalls: [{ index: 0, arguments: ":1}" }] },
      ],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    });
    expect(await collect(ask())).toEqual({
      seen: [
        { type: "reasoning", delta: "think" },
        { type: "text", delta: "Hé" },
        { type: "text", delta: "llo" },
        { type: "toolCallDelta", index: 0, id: "call_1", name: "t", arguments: '{"a"' },
        { type: "toolCallDelta", index: 0, id: undefined, name: undefined, arguments: ":1}" },
        { type: "finish", reason: "tool_calls" },
        { type: "usage", usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 } },
      ],
      error: undefined,
    });
  });

  it("says when the events of one read of the body have all been taken, before the next read", async () => {
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    fake.script({ chunks: [{ content: "a" }, { content: "b", gate }] });
    const log: string[] = [];
    const events = provider.stream({
      messages: [{ role: "user", content: "hi" }],
      signal: new AbortController().signal,
      // "b" is held back until "a" is known to be taken: the read that brought "a" ended with it.
      onReadTaken: () => {
        log.push("read taken");
        openGate();
      },
    });
    for await (const event of events) log.push(event.type === "text" ? `text ${event.delta}` : event.type);
    expect(log.slice(0, 3)).toEqual(["text a", "read taken", "text b"]);
    expect(log.filter((entry) => entry !== "read taken")).toEqual(["text a", "text b", "finish"]);
    expect(log.at(-1)).toBe("read taken");
  });

  it("gives the text before an error event, then fails with the error's message", async () => {
    fake.script({
      chunks: [{ content: "partial" }, { content: "never sent" }],
      errorAfter: 1,
      errorMessage: "The server is overloaded",
    });
    const { seen, error } = await collect(ask());
    expect(seen).toEqual([{ type: "text", delta: "partial" }]);
    expect(error).toMatchObject({
      name: "ModelError",
      message: "The model failed: The server is overloaded",
    });
  });

  it("fails a stream cut before its finish reason, after the text that came", async () => {
    fake.script({ chunks: [{ content: "a" }, { content: "b" }], breakAfter: 2 });
    const { seen, error } = await collect(ask());
    expect(seen).toEqual([
      { type: "text", delta: "a" },
      { type: "text", delta: "b" },
    ]);
    expect(error).toMatchObject({ name: "ModelError" });
  });

  it("closes the request when its reader stops early", async () => {
    fake.script(FakeOpenAI.text(["a", "b", "c"], { delayMs: 50 }));
    for await (const event of ask()) if (event.type === "text") break;
    await expect(fake.requests.at(-1)?.aborted).resolves.toBeUndefined();
  });

  it("throws the signal's reason when the request is aborted", async () => {
    fake.script({ chunks: [{ content: "a" }, { content: "b" }], stallAfter: 1 });
    const controller = new AbortController();
    const stop = new Error("stopped by the user");
    const { seen, error } = await collect(
      (async function* () {
        for await (const event of ask(controller.signal)) {
          controller.abort(stop);
          yield event;
        }
      })(),
    );
    expect(seen).toEqual([{ type: "text", delta: "a" }]);
    expect(error).toBe(stop);
  });
});
