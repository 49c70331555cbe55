import { encodeGlobalID } from "@pothos/plugin-relay";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../core/pagination.js";
import type { SharedToolCallSnapshot } from "../db/shares.js";
import {
  countViewerShares,
  importSharedConversation,
  type readShare,
  revokeShare,
  shareConversation,
  sharedConversation,
  viewerShares,
} from "../resolvers/sharing.js";
import { AttachmentKindEnum } from "./attachment.js";
import { builder } from "./builder.js";
import { ConversationRef } from "./conversation.js";
import { MessageRoleEnum } from "./message.js";
import { ViewerRef } from "./viewer.js";

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

// The same rows as `Share`, as the owner lists them later: the link itself was shown once, when made.
const SharedLinkRef = builder.prismaObject("Share", {
  name: "SharedLink",
  description:
    "One of the viewer's share links, not revoked: to see what is shared and revoke it. The link itself " +
    "was shown once, when it was made.",
  // Never the snapshot: a list of links reads only what it shows.
  select: { id: true },
  fields: (t) => ({
    id: t.id({ resolve: (s) => encodeGlobalID("Share", s.id), description: "What `revokeShare` takes." }),
    title: t.exposeString("title", { description: "The conversation's title when it was shared." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the link was made." }),
    conversation: t.relation("conversation", {
      nullable: true,
      description: "The conversation it was taken from; null once that is deleted (the link still works).",
    }),
  }),
});

builder.objectFields(ViewerRef, (t) => ({
  shares: t.prismaConnection({
    type: SharedLinkRef,
    cursor: "id",
    defaultSize: DEFAULT_PAGE_SIZE,
    maxSize: MAX_PAGE_SIZE,
    description: "The user's share links that are not revoked, newest first.",
    totalCount: (_viewer, _args, ctx) => countViewerShares(ctx),
    resolve: (query, _viewer, args, ctx) => viewerShares(ctx, args, query),
  }),
}));

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

/** A share as it is read: its snapshot, with its files' links signed for this read. */
type SharedConversation = NonNullable<Awaited<ReturnType<typeof readShare>>>;
type SharedMessage = SharedConversation["messages"][number];

const SharedAttachmentRef = builder
  .objectRef<SharedMessage["attachments"][number]>("SharedAttachment")
  .implement({
    description: "A file sent with a shared message (one its owner has since deleted is no longer listed).",
    fields: (t) => ({
      filename: t.exposeString("filename"),
      contentType: t.exposeString("contentType"),
      size: t.exposeInt("size", { description: "Bytes." }),
      kind: t.expose("kind", { type: AttachmentKindEnum }),
      url: t.exposeString("url", {
        description:
          "A time-limited signed download link, made when the share is read (read it again for a fresh one; a revoked share makes none).",
      }),
    }),
  });

const SharedMessageRef = builder.objectRef<SharedMessage>("SharedMessage").implement({
  description: "A message of a shared snapshot: no id, owner or other branch.",
  fields: (t) => ({
    role: t.expose("role", { type: MessageRoleEnum }),
    content: t.exposeString("content"),
    createdAt: t.field({ type: "DateTime", resolve: (m) => new Date(m.createdAt) }),
    toolCalls: t.field({ type: [SharedToolCallRef], resolve: (m) => m.toolCalls }),
    attachments: t.field({
      type: [SharedAttachmentRef],
      description: "The files sent with the message, in the order given.",
      resolve: (m) => m.attachments,
    }),
  }),
});

const SharedConversationRef = builder.objectRef<SharedConversation>("SharedConversation").implement({
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
    description:
      "Copies a shared snapshot into a new conversation of the viewer's, to continue it; its files become the viewer's attachments, counted against their storage quota.",
    args: { input: t.arg({ type: ImportSharedConversationInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      conversation: await importSharedConversation(ctx, input.token),
    }),
  }),
}));
