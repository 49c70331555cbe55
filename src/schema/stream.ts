import { encodeGlobalID } from "@pothos/plugin-relay";
import type { RunEvent } from "../agent/runs/events.js";
import { sendMessage } from "../resolvers/send-message.js";
import { eventMessage, resumeStream, stopGeneration } from "../resolvers/stream.js";
import { builder } from "./builder.js";
import { MessageRef } from "./message.js";
import { ToolCallRef } from "./tool-call.js";

type EventOf<T extends RunEvent["type"]> = Extract<RunEvent, { type: T }>;

const seqField = "Increases by one per event of this reply's stream; resume with `messageStream(afterSeq:)`.";

function messageEvent(name: "MessageCreated" | "MessageSnapshot" | "MessageCompleted", description: string) {
  return builder.objectRef<EventOf<typeof name>>(name).implement({
    description,
    fields: (t) => ({
      seq: t.exposeInt("seq", { description: seqField }),
      message: t.prismaField({
        type: MessageRef,
        resolve: (query, event, _args, ctx) => eventMessage(ctx, event.message, query),
      }),
    }),
  });
}

function toolCallEvent(
  name: "ToolCallStarted" | "ToolCallCompleted" | "ToolApprovalRequested",
  description: string,
) {
  return builder.objectRef<EventOf<typeof name>>(name).implement({
    description,
    fields: (t) => ({
      seq: t.exposeInt("seq", { description: seqField }),
      messageId: t.id({ resolve: (e) => encodeGlobalID("Message", e.messageId) }),
      toolCall: t.field({ type: ToolCallRef, resolve: (e) => e.toolCall }),
    }),
  });
}

const MessageCreated = messageEvent(
  "MessageCreated",
  "A message was saved: the user's, then the assistant's.",
);
const MessageSnapshot = messageEvent(
  "MessageSnapshot",
  "The reply as it stands; its content replaces the text received so far. Sent when resuming from too far back, or when events were lost between server instances (a Redis outage).",
);
const MessageCompleted = messageEvent(
  "MessageCompleted",
  "The last event of every stream: the reply ended COMPLETE, CANCELLED or FAILED (with `error`). A reply waiting for approval has not ended: its stream stays open.",
);
const ToolCallStarted = toolCallEvent("ToolCallStarted", "The assistant called a tool.");
const ToolCallCompleted = toolCallEvent(
  "ToolCallCompleted",
  "A tool call returned, failed, or was denied (its `status` says which).",
);
const ToolApprovalRequested = toolCallEvent(
  "ToolApprovalRequested",
  "The assistant asks to call a tool that needs the user's approval (`decideToolCall`). The reply waits, AWAITING_APPROVAL, holding no connection: the stream goes on once every waiting call is decided (or denied when TOOL_APPROVAL_TIMEOUT_MS passes).",
);

const ToolAuthorizationRequired = builder
  .objectRef<EventOf<"ToolAuthorizationRequired">>("ToolAuthorizationRequired")
  .implement({
    description:
      "The assistant called a tool of a server the user must authorize with their own account first: open `authorizationUrl` in their browser. The calls wait like approvals and run once the authorization completes (or are denied with `decideToolCall`, or by the approval timeout).",
    fields: (t) => ({
      seq: t.exposeInt("seq", { description: seqField }),
      messageId: t.id({ resolve: (e) => encodeGlobalID("Message", e.messageId) }),
      server: t.exposeString("server"),
      authorizationUrl: t.exposeString("authorizationUrl"),
    }),
  });

function deltaEvent(name: "TextDelta" | "ReasoningDelta", description: string) {
  return builder.objectRef<EventOf<typeof name>>(name).implement({
    description,
    fields: (t) => ({
      seq: t.exposeInt("seq", { description: seqField }),
      messageId: t.id({ resolve: (e) => encodeGlobalID("Message", e.messageId) }),
      delta: t.exposeString("delta"),
    }),
  });
}
const TextDelta = deltaEvent("TextDelta", "Text the assistant added to its reply.");
const ReasoningDelta = deltaEvent(
  "ReasoningDelta",
  "Reasoning the model streamed before or between its text (`Message.reasoning`); never sent back to the model.",
);

const eventTypes = {
  MessageCreated,
  TextDelta,
  ReasoningDelta,
  ToolCallStarted,
  ToolCallCompleted,
  ToolApprovalRequested,
  ToolAuthorizationRequired,
  MessageSnapshot,
  MessageCompleted,
};

/** Everything a reply's stream carries. */
export const MessageStreamEvent = builder.unionType("MessageStreamEvent", {
  types: Object.values(eventTypes),
  resolveType: (event) => eventTypes[(event as RunEvent).type],
});

const SendMessageInput = builder.inputType("SendMessageInput", {
  fields: (t) => ({
    conversationId: t.id({ description: "Absent: a new conversation, titled from the message." }),
    content: t.string({ required: true }),
    clientMessageId: t.string({
      description:
        "Idempotency key, per user: the same key twice makes one message and one reply (and one conversation when the first send started it); the second send attaches to the first reply's stream.",
    }),
    model: t.string({ description: "The model to answer with; the server's default when absent." }),
  }),
});

const StopGenerationInput = builder.inputType("StopGenerationInput", {
  fields: (t) => ({
    messageId: t.id({ required: true, description: "The assistant message being written." }),
  }),
});
const StopGenerationPayload = builder
  .objectRef<{ message: typeof MessageRef.$inferType }>("StopGenerationPayload")
  .implement({ fields: (t) => ({ message: t.field({ type: MessageRef, resolve: (p) => p.message }) }) });

builder.subscriptionType({});
builder.subscriptionFields((t) => ({
  sendMessage: t.field({
    type: MessageStreamEvent,
    description: "Saves the user's message, runs the assistant, and streams the reply's events.",
    args: { input: t.arg({ type: SendMessageInput, required: true }) },
    subscribe: (_root, { input }, ctx) =>
      sendMessage(ctx, {
        ...input,
        conversationId: input.conversationId == null ? null : String(input.conversationId),
      }),
    resolve: (event: RunEvent) => event,
  }),
  messageStream: t.field({
    type: MessageStreamEvent,
    description:
      "Attaches to an assistant reply: the events after `afterSeq`, or a snapshot then live events; a finished reply answers MessageCompleted at once.",
    args: { messageId: t.arg.id({ required: true }), afterSeq: t.arg.int() },
    subscribe: (_root, args, ctx) => resumeStream(ctx, String(args.messageId), args.afterSeq),
    resolve: (event: RunEvent) => event,
  }),
}));

builder.mutationField("stopGeneration", (t) =>
  t.field({
    type: StopGenerationPayload,
    description:
      "Stops a reply being written, or waiting for approval (its waiting calls end CANCELLED): it ends CANCELLED with its text so far.",
    args: { input: t.arg({ type: StopGenerationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      message: await stopGeneration(ctx, String(input.messageId)),
    }),
  }),
);
