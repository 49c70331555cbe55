import { BadUserInputError, ClientError } from "../../core/errors.js";
import { parseGlobalId } from "../../core/ids.js";
import { conversationsByIds } from "../../db/conversations.js";
import { importTrees, type TreeConversation } from "../../db/exchange.js";
import { holdsNul } from "../../http/storable-text.js";
import type { Context } from "../context.js";
import { requireViewer } from "../context.js";
import { tellViewer } from "../viewer-events.js";
import { fromChatGpt } from "./chatgpt.js";
import { badFile, jsonArrayItems } from "./json-stream.js";
import { EXPORT_FORMAT, EXPORT_VERSION, fromNative } from "./native.js";

/** The formats `importConversations` reads. */
export type ImportFormat = "NATIVE" | "CHATGPT";

/** At most this many ids in one `exportConversations`: the link carries them. */
export const MAX_EXPORT_IDS = 500;

/** `exportConversations`: a signed download link for the viewer's conversations (`ids` absent: all). */
export function exportConversations(ctx: Context, input: { ids?: readonly string[] | null }) {
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
  return ctx.exportLinks.sign(viewer.id, ids);
}

/**
 * The conversations of an import file, parsed one at a time as the upload is read, each checked and made
 * into the tree to write; `skipped` counts what a ChatGPT file held that has no place here.
 */
async function* treesOf(
  file: File,
  format: ImportFormat,
  titleLength: number,
  counts: { skipped: number },
): AsyncGenerator<TreeConversation> {
  const header = new Map<string, unknown>();
  const items =
    format === "CHATGPT"
      ? jsonArrayItems(file.stream(), null)
      : jsonArrayItems(file.stream(), "conversations", (key, value) => {
          header.set(key, value);
          if (key === "format" && value !== EXPORT_FORMAT)
            throw badFile(`"format" is ${JSON.stringify(value)}, not "${EXPORT_FORMAT}" (format NATIVE)`);
          if (key === "version" && value !== EXPORT_VERSION)
            throw badFile(
              `"version" ${JSON.stringify(value)} is not supported (this server reads ${EXPORT_VERSION})`,
            );
        });
  for await (const { index, value } of items) {
    if (format === "NATIVE" && header.get("format") !== EXPORT_FORMAT)
      throw badFile(`"format": "${EXPORT_FORMAT}" must come before "conversations" (is this an export?)`);
    if (holdsNul(value)) throw badFile(`conversation ${index}: text must not contain the NUL character`);
    if (format === "CHATGPT") {
      const { tree, skipped } = fromChatGpt(value, index, titleLength);
      counts.skipped += skipped;
      yield tree;
    } else yield fromNative(value, index, titleLength);
  }
  if (format === "NATIVE" && header.get("version") !== EXPORT_VERSION)
    throw badFile(`the file has no "version": ${EXPORT_VERSION}`);
}

/**
 * `importConversations`: every conversation of the file becomes the viewer's (new ids, the tree, active
 * path, timestamps, tool calls, feedback and usage kept). All or nothing: one transaction per file, so a
 * file refused anywhere (not JSON, truncated, wrong format marker, a conversation missing fields) writes
 * nothing, and the error names what is wrong and where.
 */
export async function importConversations(ctx: Context, input: { file: File; format: ImportFormat }) {
  const viewer = requireViewer(ctx);
  const { file, format } = input;
  const max = ctx.config.exchange.importMaxBytes;
  if (file.size > max)
    throw new ClientError(
      "BAD_USER_INPUT",
      `Import refused: the file is larger than ${max} bytes (IMPORT_MAX_BYTES)`,
      { field: "file" },
      { status: 413 },
    );
  if (file.size === 0) throw badFile("the file is empty");
  const counts = { skipped: 0 };
  const ids = await importTrees(
    ctx.prisma,
    viewer.id,
    treesOf(file, format, ctx.config.limits.titleLength, counts),
  );
  for (const id of ids) tellViewer(ctx, { type: "ConversationCreated", conversationId: id });
  const rows = await conversationsByIds(ctx.prisma, viewer.id, ids, {});
  const byId = new Map(rows.map((c) => [c.id, c]));
  return {
    conversations: ids.flatMap((id) => byId.get(id) ?? []),
    skippedMessages: counts.skipped,
  };
}
