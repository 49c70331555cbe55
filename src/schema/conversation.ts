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
    messageCount: t.exposeInt("messageCount", {
      description:
        "Messages in the conversation, on every branch (the active path's length is `messages.totalCount`).",
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
      description: "The viewer's conversations, most recently active first.",
      args: { archived: t.arg.boolean({ defaultValue: false }) },
      totalCount: (_root, args, ctx) => countConversations(ctx, args.archived),
      resolve: (query, _root, args, ctx) => listConversations(ctx, args, query),
    },
    {},
  ),
}));

/** A mutation payload that carries the conversation it changed. */
function conversationPayload(name: string) {
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
const CreateConversationPayload = conversationPayload("CreateConversationPayload");
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
  deleteConversation: t.field({
    type: DeleteConversationPayload,
    args: { input: t.arg({ type: DeleteConversationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      deletedId: await deleteConversation(ctx, String(input.id)),
    }),
  }),
}));
