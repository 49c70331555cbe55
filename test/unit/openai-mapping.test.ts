import type { ChatCompletionChunk } from "openai/resources/chat/completions";
import { describe, expect, it } from "vitest";
import { fromOpenAIChunk, toOpenAIMessages, toOpenAITools } from "../../src/agent/model/openai-mapping.js";

const chunk = (choice: Partial<ChatCompletionChunk.Choice>, usage?: ChatCompletionChunk["usage"]) =>
  ({
    id: "c",
    object: "chat.completion.chunk",
    created: 0,
    model: "m",
    choices: [{ index: 0, delta: {}, finish_reason: null, ...choice }],
    usage,
  }) as ChatCompletionChunk;

describe("toOpenAIMessages", () => {
  it("maps each role, tool calls and tool results", () => {
    expect(
      toOpenAIMessages([
        { role: "system", content: "s" },
        { role: "user", content: "u" },
        { role: "assistant", content: "", toolCalls: [{ id: "1", name: "srv__t", arguments: '{"a":1}' }] },
        { role: "tool", toolCallId: "1", content: "r" },
        { role: "assistant", content: "done" },
      ]),
    ).toEqual([
      { role: "system", content: "s" },
      { role: "user", content: "u" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "1", type: "function", function: { name: "srv__t", arguments: '{"a":1}' } }],
      },
      { role: "tool", tool_call_id: "1", content: "r" },
      { role: "assistant", content: "done" },
    ]);
  });
});

describe("toOpenAITools", () => {
  it("wraps specs as function tools", () => {
    expect(toOpenAITools([{ name: "t", description: "d", parameters: { type: "object" } }])).toEqual([
      { type: "function", function: { name: "t", description: "d", parameters: { type: "object" } } },
    ]);
  });
});

describe("fromOpenAIChunk", () => {
  it("reads reasoning from reasoning_content or reasoning, before the text of the same chunk", () => {
    const delta = (d: Record<string, unknown>) => chunk({ delta: d as never });
    expect(fromOpenAIChunk(delta({ reasoning_content: "hmm", content: "hi" }))).toEqual([
      { type: "reasoning", delta: "hmm" },
      { type: "text", delta: "hi" },
    ]);
    expect(fromOpenAIChunk(delta({ reasoning: "so" }))).toEqual([{ type: "reasoning", delta: "so" }]);
    expect(fromOpenAIChunk(delta({ reasoning_content: null, reasoning: "" }))).toEqual([]);
  });

  it("reads text, tool-call fragments, the finish reason and usage", () => {
    expect(fromOpenAIChunk(chunk({ delta: { content: "hi" } }))).toEqual([{ type: "text", delta: "hi" }]);
    expect(
      fromOpenAIChunk(
        chunk({
          delta: {
            tool_calls: [{ index: 0, id: "call", type: "function", function: { name: "t", arguments: "{" } }],
          },
        }),
      ),
    ).toEqual([{ type: "toolCallDelta", index: 0, id: "call", name: "t", arguments: "{" }]);
    expect(fromOpenAIChunk(chunk({ finish_reason: "stop" }))).toEqual([{ type: "finish", reason: "stop" }]);
    const usage = fromOpenAIChunk({
      ...chunk({}),
      choices: [],
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    });
    expect(usage).toEqual([
      { type: "usage", usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 } },
    ]);
  });

  it("ignores empty deltas", () => {
    expect(fromOpenAIChunk(chunk({ delta: { content: "" } }))).toEqual([]);
  });
});
