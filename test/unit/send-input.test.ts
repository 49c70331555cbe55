import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config.js";
import { checkSendInput, titleFromMessage } from "../../src/resolvers/send-input.js";

describe("titleFromMessage", () => {
  it("keeps a short first line", () => {
    expect(titleFromMessage("  Plan a trip\nto Rome  ", 200)).toBe("Plan a trip");
  });

  it("cuts a long line at a word boundary with an ellipsis", () => {
    const title = titleFromMessage(
      "Explain the difference between optimistic and pessimistic locking in databases",
      200,
    );
    expect(title).toBe("Explain the difference between optimistic and pessimistic…");
    expect(title.length).toBeLessThanOrEqual(60);
  });

  it("cuts a long word hard", () => {
    expect(titleFromMessage("x".repeat(100), 200)).toBe(`${"x".repeat(59)}…`);
  });
});

describe("checkSendInput", () => {
  const config = loadConfig({ MAX_MESSAGE_LENGTH: "10", OPENAI_MODELS: "a,b" });
  it.each([
    [{ content: " " }, "content"],
    [{ content: "x".repeat(11) }, "content"],
    [{ content: "ok", clientMessageId: "" }, "clientMessageId"],
    [{ content: "ok", model: "c" }, "model"],
  ])("rejects %j on %s", (input, field) => {
    expect(() => checkSendInput(input, config)).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ code: "BAD_USER_INPUT", field }) }),
    );
  });

  it("accepts an allowed model", () => {
    expect(checkSendInput({ content: "ok", model: "b" }, config)).toEqual({
      content: "ok",
      clientMessageId: null,
      model: "b",
    });
  });
});
