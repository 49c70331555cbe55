import { describe, expect, it } from "vitest";
import { fitHistory, messageTokens, messageTokensAtMost } from "../../src/agent/model/history.js";
import type { ChatMessage } from "../../src/agent/model/provider.js";

const user = (content: string): ChatMessage => ({ role: "user", content });
const assistant = (content: string): ChatMessage => ({ role: "assistant", content });

describe("fitHistory", async () => {
  it("keeps everything under the budget, after the system prompt", async () => {
    const messages = [user("hi"), assistant("hello"), user("how are you")];
    expect(await fitHistory("be brief", messages, 1000)).toEqual([
      { role: "system", content: "be brief" },
      ...messages,
    ]);
  });

  it("drops the oldest messages first", async () => {
    const messages = [user("one ".repeat(100)), assistant("two ".repeat(100)), user("three")];
    const budget =
      (await messageTokens(messages[1] as ChatMessage)) + (await messageTokens(messages[2] as ChatMessage));
    expect(await fitHistory(undefined, messages, budget)).toEqual(messages.slice(1));
    expect(await fitHistory(undefined, messages, budget - 1)).toEqual(messages.slice(2));
  });

  it("always keeps the newest message even when it alone exceeds the budget", async () => {
    const messages = [user("a"), user("long ".repeat(500))];
    expect(await fitHistory(undefined, messages, 10)).toEqual([messages[1]]);
  });

  it("never starts with tool results whose call was dropped", async () => {
    const messages: ChatMessage[] = [
      user("weather?"),
      { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "weather", arguments: "{}" }] },
      { role: "tool", toolCallId: "c1", content: "sunny ".repeat(10) },
      assistant("It is sunny."),
      user("thanks"),
    ];
    let budget = 0;
    for (const m of messages.slice(2)) budget += await messageTokens(m);
    const kept = await fitHistory(undefined, messages, budget);
    expect(kept[0]?.role).not.toBe("tool");
    expect(kept).toEqual(messages.slice(3));
  });

  it("bounds a message's tokens from above by its UTF-8 bytes, for any text", async () => {
    for (const text of [
      "hello world",
      "ünïcödé 🎉 text",
      "日本語のテキスト",
      "a".repeat(1000),
      '{"x": [1, 2]}',
    ]) {
      expect(await messageTokens(user(text))).toBeLessThanOrEqual(messageTokensAtMost(user(text)));
    }
  });

  it("counts special-token text a user writes as plain text instead of failing", async () => {
    const messages = [user("what does <|endoftext|> mean? ".repeat(50)), user("and <|im_start|>?")];
    expect(await messageTokens(messages[0] as ChatMessage)).toBeGreaterThan(50);
    expect(await fitHistory(undefined, messages, 60)).toEqual([messages[1]]);
  });
});
