import { describe, expect, it } from "vitest";
import { RunChannel } from "../../src/agent/runs/channel.js";
import {
  boundToolCall,
  cutResultLength,
  type MessageState,
  type RunEvent,
} from "../../src/agent/runs/events.js";
import { decodeEvent, encodeEvent } from "../../src/cluster/codec.js";

const at = new Date("2026-01-02T03:04:05.678Z");

const message: MessageState = {
  id: "0196c0de-0000-7000-8000-000000000001",
  conversationId: "0196c0de-0000-7000-8000-000000000002",
  ownerId: "user",
  position: 2,
  parentId: "0196c0de-0000-7000-8000-000000000003",
  depth: 2,
  siblingIndex: 0,
  childCount: 0,
  onActivePath: true,
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

describe("tool results in events", () => {
  const call = message.toolCalls[0];
  if (!call) throw new Error("fixture");

  it("carry at most the bound, say how long the whole is, and never split a surrogate pair", () => {
    expect(boundToolCall({ ...call, result: "short" }, 10)).toEqual({ ...call, result: "short" });
    expect(cutResultLength({ ...call, result: "short" })).toBeNull();
    const long = boundToolCall({ ...call, result: "0123456789abc" }, 10);
    expect(long.result).toBe("0123456789");
    expect(cutResultLength(long)).toBe(13);
    const emoji = boundToolCall({ ...call, result: "abc\u{1F600}def" }, 4);
    expect(emoji.result).toBe("abc");
    expect(cutResultLength(emoji)).toBe(8);
  });

  it("are bounded by the channel before they are buffered or sent to other instances, and survive Redis", () => {
    const sent: RunEvent[] = [];
    const channel = new RunChannel(10, 0, (e) => sent.push(e), 5);
    channel.emit({
      type: "ToolCallCompleted",
      messageId: message.id,
      toolCall: { ...call, result: "x".repeat(50) },
    });
    channel.emit({
      type: "MessageCompleted",
      message: { ...message, toolCalls: [{ ...call, result: "y".repeat(20) }] },
    });
    const [completedCall, final] = sent;
    if (completedCall?.type !== "ToolCallCompleted" || final?.type !== "MessageCompleted")
      throw new Error("order");
    expect(completedCall.toolCall.result).toBe("xxxxx");
    expect(final.message.toolCalls[0]?.result).toBe("yyyyy");
    expect(channel.since(0)).toEqual(sent);
    const decoded = decodeEvent(encodeEvent(completedCall));
    if (decoded.type !== "ToolCallCompleted") throw new Error("wrong type");
    expect(cutResultLength(decoded.toolCall)).toBe(50);
  });
});
