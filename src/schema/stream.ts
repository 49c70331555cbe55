import { encodeGlobalID } from "@pothos/plugin-relay";
import { boundMessage, boundToolCall, type RunEvent } from "../agent/runs/events.js";
import { editMessage, regenerateReply } from "../resolvers/branches.js";
import { sendMessage } from "../resolvers/send-message.js";
import { eventMessage, resumeStream, stopGeneration } from "../resolvers/stream.js";
import { builder } from "./builder.js";
import { MessageRef } from "./message.js";
import { ToolCallRef } from "./tool-call.js";

type EventOf<T extends RunEvent["type"]> = Extract<RunEvent, { type: T }>;

const seqField =
  "Increases with every event of this reply's stream (a reader that is behind may get consecutive deltas merged into one, carrying the last one's seq, so it may skip); resume with `messageStream(afterSeq:)`.";

function messageEvent(name: "MessageCreated" | "MessageSnapshot" | "MessageCompleted", description: string) {
  return builder.objectRef<EventOf<typeof name>>(name).implement({
    description,
    fields: (t) => ({
      seq: t.exposeInt("seq", { description: seqField }),
      message: t.prismaField({
        type: MessageRef,
        // Events made from the database (resumes, catch-ups) bound tool results like the live ones.
        resolve: (query, event, _args, ctx) =>
          eventMessage(ctx, boundMessage(event.message, ctx.config.runs.tools.resultEventMaxChars), query),
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
      toolCall: t.field({
        type: ToolCallRef,
        resolve: (e, _args, ctx) => boundToolCall(e.toolCall, ctx.config.runs.tools.resultEventMaxChars),
      }),
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

const BusyPolicyEnum = builder.enumType("BusyPolicy", {
  description: "What a send does while a reply is being written in the conversation (double-texting).",
  values: {
    REJECT: { description: "Refuse with CONFLICT; nothing is written." },
    ENQUEUE: {
      description:
        "Save the message QUEUED at once (MessageCreated) and answer it when the running reply and the messages queued before it have ended, in order; the stream stays open meanwhile. Only a message after the active leaf waits in the queue: with `parentMessageId`, a busy conversation answers CONFLICT.",
    },
    INTERRUPT: {
      description: "Stop the running reply (CANCELLED, its text so far kept), then answer this message.",
    },
  } as const,
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
    parentMessageId: t.id({
      description:
        "The message to answer (its conversation's); default the active leaf. Another message starts a branch there, and the new branch becomes the active path.",
    }),
    onBusy: t.field({
      type: BusyPolicyEnum,
      defaultValue: "REJECT",
      description: "What to do while a reply is being written in the conversation.",
    }),
    attachmentIds: t.idList({
      description:
        "Files uploaded with `uploadAttachment` to send with the message, in order (the content may then be empty).",
    }),
  }),
});

const EditMessageInput = builder.inputType("EditMessageInput", {
  fields: (t) => ({
    messageId: t.id({
      required: true,
      description: "The user message to edit: the new version is its sibling.",
    }),
    content: t.string({ required: true }),
    clientMessageId: t.string({ description: "Idempotency key, per user, as in `SendMessageInput`." }),
    model: t.string({ description: "The model to answer with; the server's default when absent." }),
    attachmentIds: t.idList({
      description: "The new version's files; absent: the same as the edited message's.",
    }),
  }),
});

const RegenerateReplyInput = builder.inputType("RegenerateReplyInput", {
  fields: (t) => ({
    messageId: t.id({
      required: true,
      description: "The assistant reply to write again: the new one is its sibling.",
    }),
    model: t.string({ description: "The model to answer with; the one that wrote the reply when absent." }),
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
        parentMessageId: input.parentMessageId == null ? null : String(input.parentMessageId),
        attachmentIds: input.attachmentIds?.map(String) ?? null,
      }),
    resolve: (event: RunEvent) => event,
  }),
  editMessage: t.field({
    type: MessageStreamEvent,
    description:
      "Saves a new version of a user message (a sibling: nothing is deleted), answers it, and streams like `sendMessage`; the new branch becomes the active path.",
    args: { input: t.arg({ type: EditMessageInput, required: true }) },
    subscribe: (_root, { input }, ctx) =>
      editMessage(ctx, {
        ...input,
        messageId: String(input.messageId),
        attachmentIds: input.attachmentIds?.map(String) ?? null,
      }),
    resolve: (event: RunEvent) => event,
  }),
  regenerateReply: t.field({
    type: MessageStreamEvent,
    description:
      "Writes a new version of an assistant reply (a sibling answering the same message) and streams it like `sendMessage`; the new branch becomes the active path.",
    args: { input: t.arg({ type: RegenerateReplyInput, required: true }) },
    subscribe: (_root, { input }, ctx) =>
      regenerateReply(ctx, { ...input, messageId: String(input.messageId) }),
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
