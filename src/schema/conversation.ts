import { encodeGlobalID } from "@pothos/plugin-relay";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../core/pagination.js";
import { requireViewer } from "../resolvers/context.js";
import {
  countConversations,
  createConversation,
  deleteConversation,
  getConversation,
  listConversations,
  renameConversation,
  setArchived,
} from "../resolvers/conversations.js";
import { listMessages } from "../resolvers/messages.js";
import { MAX_TAG_LENGTH, MAX_TAGS, setPinned, setTags } from "../resolvers/organise.js";
import { builder } from "./builder.js";
import { MessageRef } from "./message.js";

/** A conversation between the viewer and the assistant. */
export const ConversationRef = builder.prismaNode("Conversation", {
  id: { field: "id" },
  findUnique: (id, ctx) => ({ id, ownerId: requireViewer(ctx).id }),
  fields: (t) => ({
    title: t.exposeString("title"),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
    lastActivityAt: t.expose("activityAt", {
      type: "DateTime",
      description:
        "When a message was last added (or the conversation created): the order of `conversations`.",
    }),
    archivedAt: t.expose("archivedAt", { type: "DateTime", nullable: true }),
    pinnedAt: t.expose("pinnedAt", {
      type: "DateTime",
      nullable: true,
      description: "When the viewer pinned it (pinned conversations list first); null when not pinned.",
    }),
    tags: t.exposeStringList("tags", {
      description:
        "The viewer's labels, normalised: trimmed, single-spaced, lower-case, unique, in the order given.",
    }),
    messageCount: t.exposeInt("messageCount", {
      description:
        "Messages in the conversation, on every branch (the active path's length is `messages.totalCount`).",
    }),
    activeReplyId: t.id({
      nullable: true,
      description:
        "The assistant reply being written now (or waiting for approval), to attach with `messageStream`; null when none runs. `viewerEvents` tells when this changes (ReplyStarted, ReplyFinished).",
      select: { activeReplyId: true },
      resolve: (c) => (c.activeReplyId === null ? null : encodeGlobalID("Message", c.activeReplyId)),
    }),
    lastMessage: t.relation("activeLeaf", {
      nullable: true,
      description: "The newest message of the active path (the same as `activeLeaf`).",
    }),
    activeLeaf: t.relation("activeLeaf", {
      nullable: true,
      description: "The last message of the active path; null while the conversation is empty.",
    }),
    messages: t.prismaConnection(
      {
        type: MessageRef,
        cursor: "id",
        defaultSize: DEFAULT_PAGE_SIZE,
        maxSize: MAX_PAGE_SIZE,
        description:
          "The active path (root .. activeLeaf), oldest first; `last`/`before` page backwards to load older history.",
        totalCount: (conversation) => conversation.pathLength,
        resolve: (query, conversation, args, ctx) => listMessages(ctx, conversation.id, args, query),
      },
      {},
    ),
  }),
});

builder.queryFields((t) => ({
  conversation: t.prismaField({
    type: ConversationRef,
    nullable: true,
    description: "One of the viewer's conversations; NOT_FOUND when missing or not the viewer's.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, args, ctx) => getConversation(ctx, String(args.id), query),
  }),
  conversations: t.prismaConnection(
    {
      type: ConversationRef,
      cursor: "id",
      defaultSize: DEFAULT_PAGE_SIZE,
      maxSize: MAX_PAGE_SIZE,
      description:
        "The viewer's conversations: pinned ones first (newest pin first), then the rest most recently active first.",
      args: {
        archived: t.arg.boolean({ defaultValue: false }),
        pinned: t.arg.boolean({ description: "Only pinned (true) or only unpinned (false) conversations." }),
        tag: t.arg.string({ description: "Only conversations with this tag (matched in any letter case)." }),
      },
      totalCount: (_root, args, ctx) => countConversations(ctx, args),
      resolve: (query, _root, args, ctx) => listConversations(ctx, args, query),
    },
    {},
  ),
}));

/** A mutation payload that carries the conversation it changed. */
export function conversationPayload(name: string) {
  return builder.objectRef<{ conversation: typeof ConversationRef.$inferType }>(name).implement({
    fields: (t) => ({ conversation: t.field({ type: ConversationRef, resolve: (p) => p.conversation }) }),
  });
}

const CreateConversationInput = builder.inputType("CreateConversationInput", {
  fields: (t) => ({ title: t.string({ description: "Defaults to 'New conversation'." }) }),
});
const RenameConversationInput = builder.inputType("RenameConversationInput", {
  fields: (t) => ({ id: t.id({ required: true }), title: t.string({ required: true }) }),
});
const ArchiveConversationInput = builder.inputType("ArchiveConversationInput", {
  fields: (t) => ({ id: t.id({ required: true }) }),
});
const DeleteConversationInput = builder.inputType("DeleteConversationInput", {
  fields: (t) => ({ id: t.id({ required: true }) }),
});
const PinConversationInput = builder.inputType("PinConversationInput", {
  fields: (t) => ({ id: t.id({ required: true }) }),
});
const SetConversationTagsInput = builder.inputType("SetConversationTagsInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    tags: t.stringList({
      required: true,
      description: `The whole new set (empty removes every tag): each trimmed, single-spaced and lower-cased, duplicates dropped; at most ${MAX_TAGS} tags of at most ${MAX_TAG_LENGTH} characters, none empty or with control characters, or nothing is written.`,
    }),
  }),
});
const CreateConversationPayload = conversationPayload("CreateConversationPayload");
const PinConversationPayload = conversationPayload("PinConversationPayload");
const SetConversationTagsPayload = conversationPayload("SetConversationTagsPayload");
const RenameConversationPayload = conversationPayload("RenameConversationPayload");
const ArchiveConversationPayload = conversationPayload("ArchiveConversationPayload");
const DeleteConversationPayload = builder
  .objectRef<{ deletedId: string }>("DeleteConversationPayload")
  .implement({
    fields: (t) => ({
      deletedId: t.id({
        description: "The global id of the deleted conversation.",
        resolve: (p) => encodeGlobalID("Conversation", p.deletedId),
      }),
    }),
  });

builder.mutationFields((t) => ({
  createConversation: t.field({
    type: CreateConversationPayload,
    args: { input: t.arg({ type: CreateConversationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ conversation: await createConversation(ctx, input) }),
  }),
  renameConversation: t.field({
    type: RenameConversationPayload,
    args: { input: t.arg({ type: RenameConversationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      conversation: await renameConversation(ctx, { id: String(input.id), title: input.title }),
    }),
  }),
  archiveConversation: t.field({
    type: ArchiveConversationPayload,
    args: { input: t.arg({ type: ArchiveConversationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      conversation: await setArchived(ctx, String(input.id), true),
    }),
  }),
  unarchiveConversation: t.field({
    type: ArchiveConversationPayload,
    args: { input: t.arg({ type: ArchiveConversationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      conversation: await setArchived(ctx, String(input.id), false),
    }),
  }),
  pinConversation: t.field({
    type: PinConversationPayload,
    description:
      "Pins a conversation: it lists first (newest pin first). Pinning a pinned one keeps its `pinnedAt`.",
    args: { input: t.arg({ type: PinConversationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      conversation: await setPinned(ctx, String(input.id), true),
    }),
  }),
  unpinConversation: t.field({
    type: PinConversationPayload,
    description: "Unpins a conversation: it goes back to its place by activity.",
    args: { input: t.arg({ type: PinConversationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      conversation: await setPinned(ctx, String(input.id), false),
    }),
  }),
  setConversationTags: t.field({
    type: SetConversationTagsPayload,
    description: "Replaces a conversation's tags.",
    args: { input: t.arg({ type: SetConversationTagsInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      conversation: await setTags(ctx, { id: String(input.id), tags: input.tags }),
    }),
  }),
  deleteConversation: t.field({
    type: DeleteConversationPayload,
    args: { input: t.arg({ type: DeleteConversationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      deletedId: await deleteConversation(ctx, String(input.id)),
    }),
  }),
}));
