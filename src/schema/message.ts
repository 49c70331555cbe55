import { MessageRole, MessageStatus } from "../db/generated/prisma/client.js";
import { requireViewer } from "../resolvers/context.js";
import { builder } from "./builder.js";

export const MessageRoleEnum = builder.enumType(MessageRole, { name: "MessageRole" });
export const MessageStatusEnum = builder.enumType(MessageStatus, {
  name: "MessageStatus",
  description:
    "STREAMING while the assistant writes; AWAITING_APPROVAL while it waits for the user to decide on a tool call; then COMPLETE, CANCELLED (stopped) or FAILED. QUEUED: a user message sent with `onBusy: ENQUEUE`, waiting for the running reply to end.",
});

/** Tokens a model call used, as the provider reported them. */
export const TokenUsageRef = builder
  .objectRef<{ promptTokens: number; completionTokens: number; totalTokens: number }>("TokenUsage")
  .implement({
    fields: (t) => ({
      promptTokens: t.exposeInt("promptTokens"),
      completionTokens: t.exposeInt("completionTokens"),
      totalTokens: t.exposeInt("totalTokens"),
    }),
  });

/** One message of a conversation: the user's, the assistant's, or a system or tool message. */
export const MessageRef = builder.prismaNode("Message", {
  id: { field: "id" },
  findUnique: (id, ctx) => ({ id, ownerId: requireViewer(ctx).id }),
  fields: (t) => ({
    conversation: t.relation("conversation"),
    position: t.exposeInt("position", {
      description: "1-based order in which the conversation's messages were saved (across every branch).",
    }),
    parent: t.relation("parent", {
      nullable: true,
      description: "The message this one follows; null for a conversation's first message.",
    }),
    siblingIndex: t.exposeInt("siblingIndex", {
      description:
        'This version\'s 0-based place among the versions at this point ("2 / 3" is index 1, count 3).',
    }),
    siblingCount: t.int({
      description:
        "How many versions there are at this point (edits, regenerated replies), this one included.",
      select: { parent: { select: { childCount: true } }, conversation: { select: { rootCount: true } } },
      resolve: (message) => message.parent?.childCount ?? message.conversation.rootCount,
    }),
    isOnActivePath: t.exposeBoolean("onActivePath", {
      description: "Whether the message is on its conversation's active path (what `messages` pages).",
    }),
    role: t.expose("role", { type: MessageRoleEnum }),
    content: t.exposeString("content"),
    reasoning: t.exposeString("reasoning", {
      nullable: true,
      description: "The model's streamed reasoning, where it has one (never sent back to the model).",
    }),
    status: t.expose("status", { type: MessageStatusEnum }),
    error: t.exposeString("error", { nullable: true, description: "Why the reply failed, when it did." }),
    model: t.exposeString("model", { nullable: true, description: "The model that wrote the reply." }),
    toolCalls: t.relation("toolCalls", { query: { orderBy: { position: "asc" } } }),
    usage: t.field({
      type: TokenUsageRef,
      nullable: true,
      select: { promptTokens: true, completionTokens: true, totalTokens: true },
      resolve: ({ promptTokens, completionTokens, totalTokens }) =>
        promptTokens === null || completionTokens === null || totalTokens === null
          ? null
          : { promptTokens, completionTokens, totalTokens },
    }),
    clientMessageId: t.exposeString("clientMessageId", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

// The versions at a message's point of the tree: the parent's children, or the conversation's first messages.
builder.prismaObjectFields(MessageRef, (t) => ({
  siblings: t.field({
    type: [MessageRef],
    description: "The versions at this point, oldest first, this one included.",
    select: (_args, _ctx, nested) => ({
      parent: { select: { children: nested({ orderBy: { position: "asc" } }) } },
      conversation: {
        select: { messages: nested({ where: { parentId: null }, orderBy: { position: "asc" } }) },
      },
    }),
    resolve: (message) => message.parent?.children ?? message.conversation.messages,
  }),
}));
