import { attachmentsForModel, saveModelForm } from "../../db/attachments.js";
import type { BlobStore } from "../../db/blobs.js";
import type { Db } from "../../db/client.js";
import { modelImageSize } from "../model/attachments.js";
import type { ChatMessage, ModelAttachment } from "../model/provider.js";

/** The most text of one file (or PDF) the model is given; the rest is cut with a note saying so. */
export const ATTACHMENT_TEXT_MAX_CHARS = 20_000;

type Row = Awaited<ReturnType<typeof attachmentsForModel>>[number]["attachment"];

/**
 * Joins each user message of a history to its attachments as the model is given them: images downscaled to
 * JPEG, text files and PDFs as their (bounded) text, other files as a note. What is derived is kept on the
 * blob, so later turns read it instead of deriving it again.
 */
export async function withAttachments(
  prisma: Db,
  blobs: BlobStore,
  history: ChatMessage[],
  /** Where a warning goes (an attachment that could not be read is a note to the model, not a failure). */
  warn: (fields: object, message: string) => void,
): Promise<ChatMessage[]> {
  const ids = history.flatMap((m) => (m.role === "user" && m.messageId ? [m.messageId] : []));
  const rows = await attachmentsForModel(prisma, ids);
  if (rows.length === 0) return history;
  const byMessage = new Map<string, ModelAttachment[]>();
  for (const row of rows) {
    const form = await modelForm(prisma, blobs, row.attachment, warn);
    byMessage.set(row.messageId, [...(byMessage.get(row.messageId) ?? []), form]);
  }
  return history.map((m) =>
    m.role === "user" && m.messageId && byMessage.has(m.messageId)
      ? { ...m, attachments: byMessage.get(m.messageId) }
      : m,
  );
}

async function modelForm(
  prisma: Db,
  blobs: BlobStore,
  row: Row,
  warn: (fields: object, message: string) => void,
): Promise<ModelAttachment> {
  const name = row.filename;
  const { blob } = row;
  if (row.kind === "IMAGE") {
    if (blob.modelImage && blob.modelImageWidth && blob.modelImageHeight) {
      return imageAttachment(name, blob.modelImage, blob.modelImageWidth, blob.modelImageHeight);
    }
    try {
      const image = await downscale(await blobs.read(blob));
      await saveModelForm(prisma, blob.id, {
        modelImage: image.data,
        modelImageWidth: image.width,
        modelImageHeight: image.height,
      });
      return imageAttachment(name, image.data, image.width, image.height);
    } catch (error) {
      warn({ err: error, attachmentId: row.id }, "could not read an image attachment");
      return { kind: "note", name, text: `[attachment: ${name} is an image that could not be read]` };
    }
  }
  if (row.kind === "TEXT" || row.kind === "PDF") {
    if (blob.modelText !== null) return { kind: "file", name, text: blob.modelText };
    try {
      const bytes = await blobs.read(blob);
      const text = bounded(row.kind === "PDF" ? await pdfText(bytes) : bytes.toString("utf8"));
      await saveModelForm(prisma, blob.id, { modelText: text });
      return { kind: "file", name, text };
    } catch (error) {
      warn({ err: error, attachmentId: row.id }, "could not read a file attachment");
      return { kind: "note", name, text: `[attachment: ${name} could not be read]` };
    }
  }
  return { kind: "note", name, text: `[attachment: ${name} (${row.contentType}) is not readable here]` };
}

function imageAttachment(name: string, data: Uint8Array, width: number, height: number): ModelAttachment {
  const dataUrl = `data:image/jpeg;base64,${Buffer.from(data).toString("base64")}`;
  return { kind: "image", name, dataUrl, width, height };
}

/** The image turned upright, downscaled to the model's frame, flattened on white and encoded as JPEG. */
async function downscale(bytes: Buffer) {
  // Loaded with the first image: a server that never sees one does not pay for the native module.
  const { default: sharp } = await import("sharp");
  const upright = sharp(bytes, { animated: false }).rotate();
  const { width, height } = await upright.metadata().then((m) => {
    // EXIF orientations 5 to 8 turn the picture a quarter: its sides swap.
    const turned = (m.orientation ?? 1) >= 5;
    return { width: turned ? m.height : m.width, height: turned ? m.width : m.height };
  });
  const size = modelImageSize(width, height);
  const { data, info } = await upright
    .resize(size.width, size.height, { fit: "fill" })
    .flatten({ background: "#ffffff" })
    .jpeg({ quality: 85 })
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

async function pdfText(bytes: Buffer): Promise<string> {
  const { extractText } = await import("unpdf");
  const { text } = await extractText(new Uint8Array(bytes), { mergePages: true });
  return text;
}

function bounded(text: string): string {
  if (text.length <= ATTACHMENT_TEXT_MAX_CHARS) return text;
  return `${text.slice(0, ATTACHMENT_TEXT_MAX_CHARS)}\n[… ${text.length - ATTACHMENT_TEXT_MAX_CHARS} more characters not shown]`;
}
