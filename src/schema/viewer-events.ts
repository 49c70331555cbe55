import { encodeGlobalID } from "@pothos/plugin-relay";
import type { ViewerEvent } from "../agent/runs/viewer-events.js";
import { eventConversation, viewerEvents } from "../resolvers/viewer-events.js";
import { builder } from "./builder.js";
import { ConversationRef } from "./conversation.js";
import { MessageStatusEnum } from "./message.js";

type EventOf<T extends ViewerEvent["type"]> = Extract<ViewerEvent, { type: T }>;

function conversationEvent(name: "ConversationCreated" | "ConversationUpdated", description: string) {
  return builder.objectRef<EventOf<typeof name>>(name).implement({
    description,
    fields: (t) => ({
      conversation: t.prismaField({
        type: ConversationRef,
        nullable: true,
        description:
          "The conversation as it is now; null when it was deleted meanwhile (a ConversationDeleted follows).",
        resolve: (query, event, _args, ctx) => eventConversation(ctx, event, query),
      }),
    }),
  });
}

const ConversationCreated = conversationEvent(
  "ConversationCreated",
  "A conversation was started: by a first message, `createConversation` or `forkConversation`.",
);
const ConversationUpdated = conversationEvent(
  "ConversationUpdated",
  "A conversation changed: renamed, archived or unarchived, pinned or unpinned, tagged, another branch made active, or a message added (its `lastActivityAt` moved).",
);

const conversationId = (e: { conversationId: string }) => encodeGlobalID("Conversation", e.conversationId);

const ConversationDeleted = builder
  .objectRef<EventOf<"ConversationDeleted">>("ConversationDeleted")
  .implement({
    description: "A conversation was deleted with its messages.",
    fields: (t) => ({ conversationId: t.id({ resolve: conversationId }) }),
  });

const ReplyStarted = builder.objectRef<EventOf<"ReplyStarted">>("ReplyStarted").implement({
  description:
    "The assistant started writing a reply (or went on with one once its tool calls were decided): attach with `messageStream(messageId:)` to watch it.",
  fields: (t) => ({
    conversationId: t.id({ resolve: conversationId }),
    messageId: t.id({
      description: "The assistant message being written.",
      resolve: (e) => encodeGlobalID("Message", e.messageId),
    }),
    userMessageId: t.id({
      nullable: true,
      description: "The message the reply answers.",
      resolve: (e) => (e.userMessageId === null ? null : encodeGlobalID("Message", e.userMessageId)),
    }),
  }),
});

const ReplyFinished = builder.objectRef<EventOf<"ReplyFinished">>("ReplyFinished").implement({
  description:
    "A reply stopped running: COMPLETE, FAILED, CANCELLED, or AWAITING_APPROVAL (it waits for a decision on a tool call, and starts again once decided).",
  fields: (t) => ({
    conversationId: t.id({ resolve: conversationId }),
    messageId: t.id({ resolve: (e) => encodeGlobalID("Message", e.messageId) }),
    status: t.field({ type: MessageStatusEnum, resolve: (e) => e.status }),
  }),
});

const eventTypes = {
  ConversationCreated,
  ConversationUpdated,
  ConversationDeleted,
  ReplyStarted,
  ReplyFinished,
};

/** What changed for the viewer. */
export const ViewerEventUnion = builder.unionType("ViewerEvent", {
  types: Object.values(eventTypes),
  resolveType: (event) => eventTypes[(event as ViewerEvent).type],
});

builder.subscriptionField("viewerEvents", (t) =>
  t.field({
    type: ViewerEventUnion,
    description:
      "What changes for the viewer, from any tab, device or server instance: conversations created, updated and deleted, replies started and finished. Keeps the lists of every open tab in sync; never ends by itself while events are quiet (only by STREAM_MAX_DURATION_MS, after which the client subscribes again and reads its list). Counts as one of the user's streams (MAX_STREAMS_PER_USER).",
    subscribe: (_root, _args, ctx) => viewerEvents(ctx),
    resolve: (event: ViewerEvent) => event,
  }),
);
