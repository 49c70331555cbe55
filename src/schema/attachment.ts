import { encodeGlobalID } from "@pothos/plugin-relay";
import { AttachmentKind } from "../db/generated/prisma/client.js";
import { deleteAttachment, uploadAttachment } from "../resolvers/attachments.js";
import { requireViewer } from "../resolvers/context.js";
import { builder } from "./builder.js";
import { MessageRef } from "./message.js";

export const AttachmentKindEnum = builder.enumType(AttachmentKind, {
  name: "AttachmentKind",
  description:
    "What the model is given: IMAGE (downscaled), TEXT (the file's text), PDF (its extracted text), OTHER (a note that it was attached).",
});

/** A file the viewer uploaded, to send with messages. */
export const AttachmentRef = builder.prismaNode("Attachment", {
  id: { field: "id" },
  findUnique: (id, ctx) => ({ id, ownerId: requireViewer(ctx).id }),
  fields: (t) => ({
    filename: t.exposeString("filename"),
    contentType: t.exposeString("contentType", { description: "Sniffed from the bytes, not the client's." }),
    size: t.exposeInt("size", { description: "Bytes." }),
    sha256: t.exposeString("sha256", { description: "Hex SHA-256 of the bytes." }),
    kind: t.expose("kind", { type: AttachmentKindEnum }),
    url: t.string({
      description:
        "A time-limited signed download link that needs no bearer token (it works in `<img src>`); ask again for a fresh one.",
      select: { id: true },
      resolve: (attachment, _args, ctx) => ctx.attachmentUrls.sign(attachment.id),
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

builder.prismaObjectFields(MessageRef, (t) => ({
  attachments: t.field({
    type: [AttachmentRef],
    description: "The files sent with the message, in the order given (a deleted one is no longer listed).",
    select: (_args, _ctx, nested) => ({
      attachments: { orderBy: { position: "asc" }, select: { attachment: nested() } },
    }),
    resolve: (message) => message.attachments.map((a) => a.attachment),
  }),
}));

const UploadAttachmentInput = builder.inputType("UploadAttachmentInput", {
  fields: (t) => ({ file: t.field({ type: "File", required: true }) }),
});
const UploadAttachmentPayload = builder
  .objectRef<{ attachment: typeof AttachmentRef.$inferType }>("UploadAttachmentPayload")
  .implement({
    fields: (t) => ({ attachment: t.field({ type: AttachmentRef, resolve: (p) => p.attachment }) }),
  });
const DeleteAttachmentInput = builder.inputType("DeleteAttachmentInput", {
  fields: (t) => ({ id: t.id({ required: true }) }),
});
const DeleteAttachmentPayload = builder
  .objectRef<{ deletedId: string }>("DeleteAttachmentPayload")
  .implement({
    fields: (t) => ({
      deletedId: t.id({
        description: "The global id of the deleted attachment.",
        resolve: (p) => encodeGlobalID("Attachment", p.deletedId),
      }),
    }),
  });

builder.mutationFields((t) => ({
  uploadAttachment: t.field({
    type: UploadAttachmentPayload,
    description:
      "Uploads a file (a multipart request: send `apollo-require-preflight: true` or another CSRF header) to send with messages through `attachmentIds`. Refused over the size limit or the storage quota, with nothing stored.",
    args: { input: t.arg({ type: UploadAttachmentInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ attachment: await uploadAttachment(ctx, input.file) }),
  }),
  deleteAttachment: t.field({
    type: DeleteAttachmentPayload,
    description:
      "Deletes one of the viewer's attachments: messages that sent it keep their text and no longer list it; its bytes go when nothing else uses them.",
    args: { input: t.arg({ type: DeleteAttachmentInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ deletedId: await deleteAttachment(ctx, String(input.id)) }),
  }),
}));
