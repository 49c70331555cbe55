import type { MessageState, RunEvent } from "../agent/runs/events.js";
import type { ToolCall } from "../db/generated/prisma/client.js";

/** An event as stored in a Redis stream and sent on a channel. */
export function encodeEvent(event: RunEvent): string {
  return JSON.stringify(event);
}

/**
 * The event {@link encodeEvent} wrote, with its timestamps turned back into Dates (resolvers and the
 * DateTime scalar expect them). Only the known fields are touched: tool arguments are the model's JSON and
 * stay exactly as they were.
 */
export function decodeEvent(text: string): RunEvent {
  const event = JSON.parse(text) as RunEvent;
  if ("message" in event) reviveMessage(event.message);
  if ("toolCall" in event) reviveToolCall(event.toolCall);
  return event;
}

function reviveMessage(message: MessageState): void {
  message.createdAt = new Date(message.createdAt);
  message.updatedAt = new Date(message.updatedAt);
  message.heartbeatAt = new Date(message.heartbeatAt);
  for (const call of message.toolCalls) reviveToolCall(call);
}

function reviveToolCall(call: ToolCall): void {
  call.startedAt = new Date(call.startedAt);
  if (call.completedAt !== null) call.completedAt = new Date(call.completedAt);
  if (call.decidedAt != null) call.decidedAt = new Date(call.decidedAt);
}
