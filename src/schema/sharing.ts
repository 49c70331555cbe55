import { encodeGlobalID } from "@pothos/plugin-relay";
import type { SharedMessageSnapshot, SharedToolCallSnapshot } from "../db/shares.js";
import {
  importSharedConversation,
  revokeShare,
  shareConversation,
  sharedConversation,
} from "../resolvers/sharing.js";
import { builder } from "./builder.js";
import { ConversationRef } from "./conversation.js";
import { MessageRoleEnum } from "./message.js";

const ShareRef = builder.objectRef<{ id: string; url: string; createdAt: Date }>("Share").implement({
  description: "A share link: anyone holding its URL reads a snapshot of the conversation.",
  fields: (t) => ({
    id: t.id({ resolve: (s) => encodeGlobalID("Share", s.id), description: "What `revokeShare` takes." }),
    url: t.exposeString("url", {
      description:
        "The link, `<PUBLIC_URL>/share/<token>`: the token is its last segment (for `sharedConversation` " +
        "and `importSharedConversation`). Shown once: only the token's hash is stored.",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

const SharedToolCallRef = builder.objectRef<SharedToolCallSnapshot>("SharedToolCall").implement({
  description: "A tool call in a shared snapshot, as the owner saw it.",
  fields: (t) => ({
    name: t.exposeString("name"),
    arguments: t.field({ type: "JSON", resolve: (c) => c.arguments }),
    result: t.exposeString("result", {
      nullable: true,
      description: "Null when the call had not come back when the link was made.",
    }),
    isError: t.exposeBoolean("isError"),
  }),
});

const SharedMessageRef = builder.objectRef<SharedMessageSnapshot>("SharedMessage").implement({
  description: "A message of a shared snapshot: no id, owner or other branch.",
  fields: (t) => ({
    role: t.expose("role", { type: MessageRoleEnum }),
    content: t.exposeString("content"),
    createdAt: t.field({ type: "DateTime", resolve: (m) => new Date(m.createdAt) }),
    toolCalls: t.field({ type: [SharedToolCallRef], resolve: (m) => m.toolCalls }),
  }),
});

const SharedConversationRef = builder
  .objectRef<{ title: string; createdAt: Date; messages: SharedMessageSnapshot[] }>("SharedConversation")
  .implement({
    description:
      "A snapshot of a conversation's active path, as it was when shared: later edits do not change it.",
    fields: (t) => ({
      title: t.exposeString("title"),
      createdAt: t.expose("createdAt", { type: "DateTime", description: "When the link was made." }),
      messages: t.field({ type: [SharedMessageRef], resolve: (s) => s.messages }),
    }),
  });

const ShareConversationInput = builder.inputType("ShareConversationInput", {
  fields: (t) => ({
    id: t.id({ required: true, description: "One of the viewer's conversations." }),
    upToMessageId: t.id({
      required: true,
      description: "The last message shared: one on the active path (the path root .. it is shared).",
    }),
  }),
});
const RevokeShareInput = builder.inputType("RevokeShareInput", {
  fields: (t) => ({ id: t.id({ required: true, description: "The share's id." }) }),
});
const ImportSharedConversationInput = builder.inputType("ImportSharedConversationInput", {
  fields: (t) => ({
    token: t.string({ required: true, description: "The token: the link's last segment." }),
  }),
});

const ShareConversationPayload = builder
  .objectRef<{ share: typeof ShareRef.$inferType }>("ShareConversationPayload")
  .implement({ fields: (t) => ({ share: t.field({ type: ShareRef, resolve: (p) => p.share }) }) });
const RevokeSharePayload = builder.objectRef<{ id: string }>("RevokeSharePayload").implement({
  fields: (t) => ({
    revokedShareId: t.id({ resolve: (p) => encodeGlobalID("Share", p.id) }),
  }),
});
const ImportSharedConversationPayload = builder
  .objectRef<{ conversation: typeof ConversationRef.$inferType }>("ImportSharedConversationPayload")
  .implement({
    fields: (t) => ({ conversation: t.field({ type: ConversationRef, resolve: (p) => p.conversation }) }),
  });

builder.queryField("sharedConversation", (t) =>
  t.field({
    type: SharedConversationRef,
    nullable: true,
    description:
      "The snapshot a share link's token names; public (no authentication needed), rate limited per " +
      "client address. Null when the token is unknown or the share was revoked.",
    args: {
      token: t.arg.string({
        required: true,
        description: "The token (the link's last segment), or the whole link.",
      }),
    },
    resolve: (_root, { token }, ctx) => sharedConversation(ctx, token),
  }),
);

builder.mutationFields((t) => ({
  shareConversation: t.field({
    type: ShareConversationPayload,
    description:
      "Makes a share link: a snapshot of the active path up to `upToMessageId` (messages and the tool " +
      "calls' results the viewer saw), readable by anyone with the link, until revoked.",
    args: { input: t.arg({ type: ShareConversationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      share: await shareConversation(ctx, {
        id: String(input.id),
        upToMessageId: String(input.upToMessageId),
      }),
    }),
  }),
  revokeShare: t.field({
    type: RevokeSharePayload,
    description: "Revokes a share link: it answers null from now on. Revoking again is fine.",
    args: { input: t.arg({ type: RevokeShareInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ id: await revokeShare(ctx, String(input.id)) }),
  }),
  importSharedConversation: t.field({
    type: ImportSharedConversationPayload,
    description: "Copies a shared snapshot into a new conversation of the viewer's, to continue it.",
    args: { input: t.arg({ type: ImportSharedConversationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      conversation: await importSharedConversation(ctx, input.token),
    }),
  }),
}));
