import { forkConversation, switchBranch } from "../resolvers/branches.js";
import { builder } from "./builder.js";
import { ConversationRef } from "./conversation.js";

const SwitchBranchInput = builder.inputType("SwitchBranchInput", {
  fields: (t) => ({
    messageId: t.id({
      required: true,
      description:
        "A version to show: the active path runs from the root through it to the newest leaf below it.",
    }),
  }),
});
const ForkConversationInput = builder.inputType("ForkConversationInput", {
  fields: (t) => ({
    messageId: t.id({
      required: true,
      description: "The last message to copy (the path root .. it is copied).",
    }),
    title: t.string({ description: "The new conversation's title; the original's when absent." }),
  }),
});
const SwitchBranchPayload = builder
  .objectRef<{ conversation: typeof ConversationRef.$inferType }>("SwitchBranchPayload")
  .implement({
    fields: (t) => ({
      conversation: t.field({ type: ConversationRef, resolve: (p) => p.conversation }),
    }),
  });
const ForkConversationPayload = builder
  .objectRef<{ conversation: typeof ConversationRef.$inferType }>("ForkConversationPayload")
  .implement({
    fields: (t) => ({
      conversation: t.field({ type: ConversationRef, resolve: (p) => p.conversation }),
    }),
  });

builder.mutationFields((t) => ({
  switchBranch: t.field({
    type: SwitchBranchPayload,
    description:
      "Makes another branch the conversation's active path (what `messages` pages and the model sees).",
    args: { input: t.arg({ type: SwitchBranchInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      conversation: await switchBranch(ctx, String(input.messageId), {}),
    }),
  }),
  forkConversation: t.field({
    type: ForkConversationPayload,
    description:
      "A new conversation holding a copy of the path from the first message to `messageId`, tool calls included.",
    args: { input: t.arg({ type: ForkConversationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      conversation: await forkConversation(
        ctx,
        { messageId: String(input.messageId), title: input.title },
        {},
      ),
    }),
  }),
}));
