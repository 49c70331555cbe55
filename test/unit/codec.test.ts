import { describe, expect, it } from "vitest";
import type { MessageState, RunEvent } from "../../src/agent/runs/events.js";
import { decodeEvent, encodeEvent } from "../../src/cluster/codec.js";

const at = new Date("2026-01-02T03:04:05.678Z");

const message: MessageState = {
  id: "0196c0de-0000-7000-8000-000000000001",
  conversationId: "0196c0de-0000-7000-8000-000000000002",
  ownerId: "user",
  position: 2,
  role: "ASSISTANT",
  content: "partial",
  status: "STREAMING",
  error: null,
  model: "m",
  promptTokens: null,
  completionTokens: null,
  totalTokens: null,
  reasoning: null,
  lastSeq: 4,
  heartbeatAt: at,
  clientMessageId: null,
  createdAt: at,
  updatedAt: at,
  toolCalls: [
    {
      id: "0196c0de-0000-7000-8000-000000000003",
      messageId: "0196c0de-0000-7000-8000-000000000001",
      position: 0,
      round: 0,
      textOffset: 3,
      callId: "call_1",
      server: "s",
      name: "lookup",
      arguments: { createdAt: "2020-01-01T00:00:00.000Z", nested: { n: 1 } },
      result: null,
      isError: false,
      status: "RUNNING",
      startedAt: at,
      decidedAt: at,
      decision: "approved",
      completedAt: null,
    },
  ],
};

describe("run events through Redis", () => {
  it("round-trips a snapshot with its Dates, leaving tool arguments as the model wrote them", () => {
    const event: RunEvent = { type: "MessageSnapshot", seq: 4, message };
    const decoded = decodeEvent(encodeEvent(event));
    expect(decoded).toEqual(event);
    if (decoded.type !== "MessageSnapshot") throw new Error("wrong type");
    expect(decoded.message.createdAt).toBeInstanceOf(Date);
    expect(decoded.message.toolCalls[0]?.startedAt).toBeInstanceOf(Date);
    expect(decoded.message.toolCalls[0]?.arguments).toEqual({
      createdAt: "2020-01-01T00:00:00.000Z",
      nested: { n: 1 },
    });
  });

  it("round-trips deltas and tool-call events", () => {
    const delta: RunEvent = { type: "TextDelta", seq: 5, messageId: message.id, delta: "x\n\u00e9" };
    expect(decodeEvent(encodeEvent(delta))).toEqual(delta);
    const call = message.toolCalls[0];
    if (!call) throw new Error("fixture");
    const completed: RunEvent = {
      type: "ToolCallCompleted",
      seq: 6,
      messageId: message.id,
      toolCall: { ...call, result: "ok", completedAt: at },
    };
    expect(decodeEvent(encodeEvent(completed))).toEqual(completed);
  });
});
