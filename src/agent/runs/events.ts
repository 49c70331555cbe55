import type { Message, ToolCall } from "../../db/generated/prisma/client.js";

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

/** Whether an event ends its stream. */
export function isFinal(event: RunEvent): boolean {
  return event.type === "MessageCompleted";
}

/** Whether a stored reply has not ended: it streams, or it waits for approval and will go on. */
export function isLiveReply(message: Pick<Message, "status">): boolean {
  return message.status === "STREAMING" || message.status === "AWAITING_APPROVAL";
}
