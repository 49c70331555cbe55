import type { Config } from "../core/config.js";
import { BadUserInputError, ClientError, NotFoundError } from "../core/errors.js";
import { parseGlobalId } from "../core/ids.js";
import * as attachments from "../db/attachments.js";
import { BlobTooLargeError, freeUnusedBlobs, type StoredBlob } from "../db/blobs.js";
import { isForeignKeyViolation } from "../db/errors.js";
import type { AttachmentKind } from "../db/generated/prisma/client.js";
import type { Context } from "./context.js";
import { requireViewer } from "./context.js";

const MAX_FILENAME_LENGTH = 255;
/** Image types the model and every browser take as they are. */
const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
/** Text types told apart by extension (the bytes of text say nothing of their format). */
const TEXT_TYPES: Record<string, string> = {
  json: "application/json",
  csv: "text/csv",
  md: "text/markdown",
  markdown: "text/markdown",
};

function tooLarge(config: Config): ClientError {
  return new ClientError(
    "BAD_USER_INPUT",
    `File is larger than ${config.attachments.maxBytes} bytes`,
    { field: "file" },
    { status: 413 },
  );
}

function overQuota(config: Config): ClientError {
  return new ClientError(
    "BAD_USER_INPUT",
    `Attachment storage quota of ${config.attachments.quotaBytes} bytes exceeded: delete attachments first`,
    { field: "file", limit: "attachmentQuota" },
  );
}

/**
 * `uploadAttachment`: streams the file into the store (hashing it; identical bytes are kept once), sniffs its
 * type from the bytes, and records it against the viewer's quota. A file over the size limit or the quota
 * leaves nothing behind.
 */
export async function uploadAttachment(ctx: Context, file: File) {
  const viewer = requireViewer(ctx);
  const { config } = ctx;
  if (!(file instanceof Blob)) throw new BadUserInputError("file must be an uploaded file", "file");
  const filename = cleanFilename(file.name);
  if (file.size === 0) throw new BadUserInputError("File is empty", "file");
  if (file.size > config.attachments.maxBytes) throw tooLarge(config);
  if ((await attachments.usedBytes(ctx.prisma, viewer.id)) + file.size > config.attachments.quotaBytes)
    throw overQuota(config);
  const record = async () => {
    let stored: StoredBlob;
    try {
      stored = await ctx.blobs.put(file.stream(), config.attachments.maxBytes);
    } catch (error) {
      if (error instanceof BlobTooLargeError) throw tooLarge(config);
      throw error;
    }
    const { kind, contentType } = await classify(stored, filename);
    const attachment = await attachments.insertAttachment(
      ctx.prisma,
      {
        ownerId: viewer.id,
        filename,
        contentType,
        size: stored.size,
        sha256: stored.sha256,
        kind,
        blobId: stored.id,
      },
      config.attachments.quotaBytes,
    );
    return { stored, attachment };
  };
  let result: Awaited<ReturnType<typeof record>>;
  try {
    result = await record();
  } catch (error) {
    // The same bytes stored before were freed between finding them and recording this attachment: the
    // file is still on disk (spooled), so it is stored again.
    if (!isForeignKeyViolation(error)) throw error;
    result = await record();
  }
  const { stored, attachment } = result;
  if (!attachment) {
    await ctx.blobs.remove(await freeUnusedBlobs(ctx.prisma, [stored.id]));
    throw overQuota(config);
  }
  return attachment;
}

/**
 * `deleteAttachment`: removes one of the viewer's attachments; messages that sent it keep their text and
 * no longer list it. Returns its id.
 */
export async function deleteAttachment(ctx: Context, globalId: string): Promise<string> {
  const viewer = requireViewer(ctx);
  const id = parseGlobalId(globalId, "Attachment");
  const freed = await attachments.deleteAttachment(ctx.prisma, viewer.id, id);
  if (freed === null) throw new NotFoundError("Attachment");
  await ctx.blobs.remove(freed);
  return id;
}

/**
 * The attachments a send names, checked without writing: well-formed ids, no repeats, within the count per
 * message, every one the viewer's (another user's is `NOT_FOUND`, like a missing one). Their database ids,
 * in order.
 */
export async function checkAttachmentIds(ctx: Context, globalIds: readonly string[]): Promise<string[]> {
  if (globalIds.length === 0) return [];
  const viewer = requireViewer(ctx);
  const limit = ctx.config.attachments.perMessage;
  if (globalIds.length > limit)
    throw new BadUserInputError(`At most ${limit} attachments per message`, "attachmentIds");
  const ids = globalIds.map((g) => parseGlobalId(g, "Attachment", "attachmentIds"));
  if (new Set(ids).size !== ids.length)
    throw new BadUserInputError("An attachment is named twice", "attachmentIds");
  const owned = await attachments.ownedAttachmentIds(ctx.prisma, viewer.id, ids);
  if (ids.some((id) => !owned.has(id))) throw new NotFoundError("Attachment");
  return ids;
}

/** A client's (or an import file's) file name as a plain name: no folders, no control characters, not empty, bounded. */
export function cleanFilename(name: string): string {
  const base =
    name
      .split(/[\\/]/)
      .pop()
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
      ?.replace(/[\u0000-\u001f\u007f]/g, "")
      .trim() ?? "";
  const cut = Array.from(base).slice(0, MAX_FILENAME_LENGTH).join("");
  return cut === "" ? "file" : cut;
}

/**
 * The kind and content type, from the bytes; for text (which has no magic) the extension picks the type.
 * Imports classify their files with it too: a file's word for its type is never taken.
 */
export async function classify(
  stored: StoredBlob,
  filename: string,
): Promise<{ kind: AttachmentKind; contentType: string }> {
  // Loaded with the first upload, not at start.
  const { fileTypeFromBuffer } = await import("file-type");
  const sniffed = await fileTypeFromBuffer(stored.head);
  if (sniffed && IMAGE_TYPES.has(sniffed.mime)) return { kind: "IMAGE", contentType: sniffed.mime };
  if (sniffed?.mime === "application/pdf") return { kind: "PDF", contentType: sniffed.mime };
  if (sniffed) return { kind: "OTHER", contentType: sniffed.mime };
  if (stored.text) {
    const extension = filename.includes(".") ? filename.split(".").pop()?.toLowerCase() : undefined;
    const type = (extension && TEXT_TYPES[extension]) ?? "text/plain";
    return { kind: "TEXT", contentType: `${type}; charset=utf-8` };
  }
  return { kind: "OTHER", contentType: "application/octet-stream" };
}
