import { exportConversations, importConversations, MAX_EXPORT_IDS } from "../resolvers/exchange/import.js";
import { builder } from "./builder.js";
import { ConversationRef } from "./conversation.js";

const ImportFormatEnum = builder.enumType("ImportFormat", {
  description: "What an import file is.",
  values: {
    NATIVE: { description: "This server's export (`exportConversations`), format `chat-graphql-export`." },
    CHATGPT: { description: "The `conversations.json` of a ChatGPT data export." },
  } as const,
});

const ExportConversationsInput = builder.inputType("ExportConversationsInput", {
  fields: (t) => ({
    ids: t.idList({
      description: `The conversations to export (at most ${MAX_EXPORT_IDS}); absent: all of the viewer's.`,
    }),
    includeFiles: t.boolean({
      defaultValue: true,
      description:
        "Whether the file carries the attachments' bytes (`blobs`, base64). Without them the attachments " +
        "are still listed, and an import leaves them out (`skippedAttachments`).",
    }),
  }),
});
const ImportConversationsInput = builder.inputType("ImportConversationsInput", {
  fields: (t) => ({
    file: t.field({ type: "File", required: true, description: "The file, sent as a multipart upload." }),
    format: t.field({ type: ImportFormatEnum, required: true }),
  }),
});

const ExportConversationsPayload = builder
  .objectRef<{ url: string; expiresAt: Date }>("ExportConversationsPayload")
  .implement({
    fields: (t) => ({
      url: t.exposeString("url", {
        description:
          "A signed download link (no token needed) serving the JSON export as an attachment. The file is " +
          "written when the link is fetched.",
      }),
      expiresAt: t.expose("expiresAt", { type: "DateTime" }),
    }),
  });
const ImportConversationsPayload = builder
  .objectRef<{
    conversations: (typeof ConversationRef.$inferType)[];
    skippedMessages: number;
    skippedAttachments: number;
  }>("ImportConversationsPayload")
  .implement({
    fields: (t) => ({
      conversations: t.field({
        type: [ConversationRef],
        description: "The new conversations, in the file's order.",
        resolve: (p) => p.conversations,
      }),
      skippedMessages: t.exposeInt("skippedMessages", {
        description:
          "Messages of a ChatGPT file with nothing to show here (tool calls and outputs, hidden messages, " +
          "content without text), left out; their replies are kept. System prompts are not counted.",
      }),
      skippedAttachments: t.exposeInt("skippedAttachments", {
        description:
          "Attachments a native file lists without their bytes (exported with `includeFiles: false`), left " +
          "out; their messages are kept.",
      }),
    }),
  });

builder.mutationFields((t) => ({
  exportConversations: t.field({
    type: ExportConversationsPayload,
    description:
      "A download link for a lossless JSON export of the viewer's conversations (tree, tool calls, usage, " +
      "feedback, attachments with their bytes), which `importConversations` reads back.",
    args: { input: t.arg({ type: ExportConversationsInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      exportConversations(ctx, {
        ids: input.ids?.map((id) => String(id)) ?? null,
        includeFiles: input.includeFiles ?? true,
      }),
  }),
  importConversations: t.field({
    type: ImportConversationsPayload,
    description:
      "Imports a file of conversations as the viewer's: all of it or, when anything in it is refused " +
      "(BAD_USER_INPUT naming what and where), none of it.",
    args: { input: t.arg({ type: ImportConversationsInput, required: true }) },
    resolve: (_root, { input }, ctx) => importConversations(ctx, input),
  }),
}));
