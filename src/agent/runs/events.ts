import type { Message } from "../../db/columns.js";
import type { ToolCall } from "../../db/generated/prisma/client.js";

/** A message as events carry it: the row with its tool calls, as they were when the event was made. */
export type MessageState = Message & { toolCalls: ToolCall[] };

/**
 * The events of one reply's stream. `seq` increases by one per event of the assistant message's stream;
 * a client resumes with the last `seq` it saw. The shapes match the GraphQL union `MessageStreamEvent`.
 */
export type RunEvent =
  | { type: "MessageCreated"; seq: number; message: MessageState }
  | { type: "TextDelta"; seq: number; messageId: string; delta: string }
  | { type: "ReasoningDelta"; seq: number; messageId: string; delta: string }
  | { type: "ToolCallStarted"; seq: number; messageId: string; toolCall: ToolCall }
  | { type: "ToolCallCompleted"; seq: number; messageId: string; toolCall: ToolCall }
  | { type: "ToolApprovalRequested"; seq: number; messageId: string; toolCall: ToolCall }
  | {
      type: "ToolAuthorizationRequired";
      seq: number;
      messageId: string;
      server: string;
      authorizationUrl: string;
    }
  | { type: "MessageSnapshot"; seq: number; message: MessageState }
  | { type: "MessageCompleted"; seq: number; message: MessageState };

/** An event before the run numbers it. */
export type UnnumberedEvent = RunEvent extends infer E
  ? E extends RunEvent
    ? Omit<E, "seq">
    : never
  : never;

/**
 * A tool call as an event carries it: a result longer than `maxChars` is cut to its beginning and
 * `resultLength` tells how long the whole is. Events go to every client of a reply, into its replay buffer
 * and across instances, so a megabyte of tool output must not ride along; the whole stays readable with a
 * query of the message's `toolCalls`.
 */
export function boundToolCall(call: ToolCall, maxChars: number): ToolCall {
  const result = call.result;
  if (result === null || result.length <= maxChars) return call;
  // Never split a surrogate pair: the cut text must stay valid UTF-16.
  const end = isHighSurrogate(result.charCodeAt(maxChars - 1)) ? maxChars - 1 : maxChars;
  const bounded: ToolCall & CutResult = {
    ...call,
    result: result.slice(0, end),
    resultLength: result.length,
  };
  return bounded;
}

/** The length of the whole result when `call` carries only its beginning (see {@link boundToolCall}). */
export function cutResultLength(call: ToolCall): number | null {
  return "resultLength" in call ? (call as ToolCall & CutResult).resultLength : null;
}

interface CutResult {
  resultLength: number;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** A message with each of its tool calls bounded by {@link boundToolCall}. */
export function boundMessage(message: MessageState, maxChars: number): MessageState {
  if (!message.toolCalls.some((c) => c.result !== null && c.result.length > maxChars)) return message;
  return { ...message, toolCalls: message.toolCalls.map((c) => boundToolCall(c, maxChars)) };
}

/** An event with the tool results it carries bounded by {@link boundToolCall}. */
export function boundEvent<E extends UnnumberedEvent>(event: E, maxChars: number): E {
  if ("toolCall" in event) return { ...event, toolCall: boundToolCall(event.toolCall, maxChars) };
  if ("message" in event) return { ...event, message: boundMessage(event.message, maxChars) };
  return event;
}

/** Whether an event ends its stream. */
export function isFinal(event: RunEvent): boolean {
  return event.type === "MessageCompleted";
}

/** Whether a stored reply has not ended: it streams, or it waits for approval and will go on. */
export function isLiveReply(message: Pick<Message, "status">): boolean {
  return message.status === "STREAMING" || message.status === "AWAITING_APPROVAL";
}
