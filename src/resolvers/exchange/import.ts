import { BadUserInputError, ClientError } from "../../core/errors.js";
import { parseGlobalId } from "../../core/ids.js";
import {
  BlobHashMismatchError,
  type BlobRef,
  type BlobStore,
  BlobTooLargeError,
  freeUnusedBlobs,
  type StoredBlob,
  unheldHashes,
} from "../../db/blobs.js";
import { conversationsByIds } from "../../db/conversations.js";
import {
  type ImportedAttachment,
  importTrees,
  insertImportedAttachments,
  type TreeConversation,
} from "../../db/exchange.js";
import { holdsNul } from "../../http/storable-text.js";
import { classify, cleanFilename } from "../attachments.js";
import type { Context } from "../context.js";
import { requireViewer } from "../context.js";
import { tellViewer } from "../viewer-events.js";
import { fromChatGpt } from "./chatgpt.js";
import { badFile, jsonArrayItems } from "./json-stream.js";
import {
  base64Bytes,
  checkBlobEntry,
  checkBlobSize,
  EXPORT_FORMAT,
  fromNative,
  IMPORT_VERSIONS,
} from "./native.js";

/** The formats `importConversations` reads. */
export type ImportFormat = "NATIVE" | "CHATGPT";

/** At most this many ids in one `exportConversations`: the link carries them. */
export const MAX_EXPORT_IDS = 500;

/** `exportConversations`: a signed download link for the viewer's conversations (`ids` absent: all). */
export function exportConversations(
  ctx: Context,
  input: { ids?: readonly string[] | null; includeFiles: boolean },
) {
  const viewer = requireViewer(ctx);
  let ids: string[] | null = null;
  if (input.ids != null) {
    if (input.ids.length > MAX_EXPORT_IDS)
      throw new BadUserInputError(
        `At most ${MAX_EXPORT_IDS} ids in one export; leave ids out for all`,
        "ids",
      );
    // Someone else's or missing ids are simply not in the file, as with a list.
    ids = [...new Set(input.ids.map((id) => parseGlobalId(id, "Conversation", "ids")))];
  }
  return ctx.exportLinks.sign(viewer.id, ids, input.includeFiles);
}

/** What a native import stored of its file's blobs, by sha256, for the attachments that name them. */
type StoredBlobs = Map<string, StoredBlob>;

/**
 * A native import's files: its blobs stored through the import's transaction (checked against their
 * sha256, bounded by the upload limit), and the attachments a message may list, as for a send.
 */
interface NativeFiles {
  store: BlobStore;
  maxBytes: number;
  perMessage: number;
  stored: StoredBlobs;
}

/**
 * One blob of a native export, stored (once, however often the file names it) as its base64 is read: a
 * piece at a time, never the whole file.
 */
async function storeBlob(
  sink: NativeFiles,
  key: string,
  fields: Record<string, unknown>,
  pieces: AsyncIterable<string> | null,
): Promise<void> {
  const where = checkBlobEntry(key, pieces !== null);
  if (pieces === null || sink.stored.has(key)) return;
  const bytes = base64Bytes(pieces, where);
  const source = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await bytes.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
  });
  let stored: StoredBlob;
  try {
    stored = await sink.store.put(source, sink.maxBytes, key);
  } catch (error) {
    if (error instanceof BlobHashMismatchError) throw badFile(`${where}: ${error.message}`);
    if (error instanceof BlobTooLargeError)
      throw badFile(`${where}: larger than ${sink.maxBytes} bytes (ATTACHMENT_MAX_BYTES)`);
    throw error;
  }
  // Kept before the check: a refused file's folder files are found through `stored`.
  sink.stored.set(key, stored);
  checkBlobSize(where, fields, stored.size);
}

/**
 * The conversations of an import file, parsed one at a time as the upload is read, each checked and made
 * into the tree to write; `skipped` counts what a ChatGPT file held that has no place here. A native
 * file's blobs are stored into `blobs` as they come (after the conversations, in an export).
 */
async function* treesOf(
  file: File,
  format: ImportFormat,
  titleLength: number,
  counts: { skipped: number; withFiles: boolean },
  blobs: NativeFiles,
): AsyncGenerator<TreeConversation> {
  const { perMessage } = blobs;
  const header = new Map<string, unknown>();
  const items =
    format === "CHATGPT"
      ? jsonArrayItems(file.stream(), null)
      : jsonArrayItems(
          file.stream(),
          "conversations",
          (key, value) => {
            header.set(key, value);
            if (key === "blobs") counts.withFiles = true;
            if (key === "format" && value !== EXPORT_FORMAT)
              throw badFile(`"format" is ${JSON.stringify(value)}, not "${EXPORT_FORMAT}" (format NATIVE)`);
            if (key === "version" && !IMPORT_VERSIONS.includes(value))
              throw badFile(
                `"version" ${JSON.stringify(value)} is not supported (this server reads ${IMPORT_VERSIONS.join(", ")})`,
              );
          },
          { key: "blobs", field: "data" },
        );
  for await (const item of items) {
    if (format === "NATIVE" && header.get("format") !== EXPORT_FORMAT)
      throw badFile(`"format": "${EXPORT_FORMAT}" must come before "conversations" (is this an export?)`);
    if (item.key !== null) {
      await storeBlob(blobs, item.key, item.fields, item.pieces);
      continue;
    }
    const { index, value } = item;
    if (holdsNul(value)) throw badFile(`conversation ${index}: text must not contain the NUL character`);
    if (format === "CHATGPT") {
      const { tree, skipped } = fromChatGpt(value, index, titleLength);
      counts.skipped += skipped;
      yield tree;
    } else {
      const tree = fromNative(value, index, titleLength);
      const crowded = tree.messages.findIndex((m) => (m.attachments?.length ?? 0) > perMessage);
      if (crowded >= 0)
        throw badFile(
          `conversation ${index}.messages.${crowded}: more than ${perMessage} attachments (ATTACHMENTS_PER_MESSAGE)`,
        );
      yield tree;
    }
  }
  if (format === "NATIVE" && !IMPORT_VERSIONS.includes(header.get("version")))
    throw badFile(`the file has no "version" (${IMPORT_VERSIONS.join(" or ")})`);
}

/**
 * `importConversations`: every conversation of the file becomes the viewer's (new ids, the tree, active
 * path, timestamps, tool calls, feedback, usage and attachments kept). All or nothing: one transaction per
 * file, so a file refused anywhere (not JSON, truncated, wrong format marker, a conversation missing fields,
 * bytes that do not match their sha256 or are missing, attachments over the quota) writes nothing, and the
 * error names what is wrong and where. A file without `blobs` (exported without files) has its attachments
 * left out, counted in `skippedAttachments`. The blobs follow the conversations in the file, so messages
 * are written first and their attachments linked at the end, in the same transaction: nothing is spooled.
 */
export async function importConversations(ctx: Context, input: { file: File; format: ImportFormat }) {
  const viewer = requireViewer(ctx);
  const { file, format } = input;
  const { config } = ctx;
  const max = config.exchange.importMaxBytes;
  if (file.size > max)
    throw new ClientError(
      "BAD_USER_INPUT",
      `Import refused: the file is larger than ${max} bytes (IMPORT_MAX_BYTES)`,
      { field: "file" },
      { status: 413 },
    );
  if (file.size === 0) throw badFile("the file is empty");
  const counts = { skipped: 0, withFiles: false, skippedAttachments: 0 };
  const stored: StoredBlobs = new Map();
  let freed: BlobRef[] = [];
  let ids: string[];
  try {
    ids = await importTrees(
      ctx.prisma,
      viewer.id,
      (tx) =>
        treesOf(file, format, config.limits.titleLength, counts, {
          store: ctx.blobs.within(tx),
          maxBytes: config.attachments.maxBytes,
          perMessage: config.attachments.perMessage,
          stored,
        }),
      async (tx, declared) => {
        const imported: ImportedAttachment[] = [];
        const skipped = new Set<string>();
        const hashOf = new Map<string, string>();
        for (const d of declared) {
          // One attachment sent with several messages is listed with each: the same file every time.
          if ((hashOf.get(d.key) ?? d.sha256) !== d.sha256)
            throw badFile(`the attachment "${d.key}" is listed with two different sha256`);
          hashOf.set(d.key, d.sha256);
          const blob = stored.get(d.sha256);
          if (!blob && counts.withFiles)
            throw badFile(`the attachment "${d.key}" (${d.filename}) has no bytes in "blobs" (${d.sha256})`);
          if (!blob) {
            skipped.add(d.key);
            continue;
          }
          const filename = cleanFilename(d.filename);
          const type = await classify(blob, filename);
          imported.push({ ...d, filename, blobId: blob.id, size: blob.size, ...type });
        }
        counts.skippedAttachments = skipped.size;
        if (!(await insertImportedAttachments(tx, viewer.id, imported, config.attachments.quotaBytes)))
          throw new ClientError(
            "BAD_USER_INPUT",
            `Import refused: its attachments would pass the storage quota of ${config.attachments.quotaBytes} bytes`,
            { field: "file", limit: "attachmentQuota" },
          );
        // Bytes the file held that no attachment of it names.
        freed = await freeUnusedBlobs(
          tx,
          [...stored.values()].map((b) => b.id),
        );
      },
    );
  } catch (error) {
    // The rows went with the transaction; a folder store's files of bytes new to it did not.
    if (ctx.blobs.kind === "folder") {
      const orphans = await unheldHashes(ctx.prisma, [...stored.keys()]);
      await ctx.blobs.remove(orphans.map((sha256) => ({ id: "", sha256, store: "folder" })));
    }
    throw error;
  }
  await ctx.blobs.remove(freed);
  for (const id of ids) tellViewer(ctx, { type: "ConversationCreated", conversationId: id });
  const rows = await conversationsByIds(ctx.prisma, viewer.id, ids, {});
  const byId = new Map(rows.map((c) => [c.id, c]));
  return {
    conversations: ids.flatMap((id) => byId.get(id) ?? []),
    skippedMessages: counts.skipped,
    skippedAttachments: counts.skippedAttachments,
  };
}
