import { z } from "zod";
import type { ExportedConversationRow, TreeConversation } from "../../db/exchange.js";
import type { MessageStatus, Prisma, ToolCallStatus } from "../../db/generated/prisma/client.js";
import { normalizeTags } from "../organise.js";
import { badFile, checkedEntry } from "./json-stream.js";

/** The format marker of this backend's exports. */
export const EXPORT_FORMAT = "chat-graphql-export";
/**
 * The version the export writes. Version 1 carried an `attachments` array on every message, always empty
 * (the slot reserved). Version 2 fills it (each attachment's metadata) and adds, after `conversations`, a
 * `blobs` object: each distinct file's bytes once, under its sha256, base64 in `data`.
 */
export const EXPORT_VERSION = 2;
/** The versions an import reads: 1 is 2 without attachments. */
export const IMPORT_VERSIONS: readonly unknown[] = [1, 2];

/** The opening of an export file, up to the `conversations` array; the conversations follow one by one. */
export function exportHeader(exportedAt: Date): string {
  return `{"format":${JSON.stringify(EXPORT_FORMAT)},"version":${EXPORT_VERSION},"exportedAt":${JSON.stringify(exportedAt.toISOString())},"conversations":[`;
}

/** Between the conversations and the blobs. */
export const BLOBS_OPENING = `],"blobs":{`;
/** The end of the file, after the blobs. */
export const EXPORT_CLOSING = "}}";

/** The opening of one blob's entry, up to its base64 `data`, which follows in pieces, then `"}`. */
export function blobOpening(sha256: string, size: number, first: boolean): string {
  return `${first ? "" : ","}${JSON.stringify(sha256)}:{"size":${size},"data":"`;
}

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/** One conversation as the export writes it: everything the database holds of it, ids kept. */
export function toNative(c: ExportedConversationRow) {
  return {
    id: c.id,
    title: c.title,
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
    activityAt: iso(c.activityAt),
    archivedAt: iso(c.archivedAt),
    pinnedAt: iso(c.pinnedAt),
    tags: c.tags,
    activeLeafId: c.activeLeafId,
    messages: c.messages.map((m) => ({
      id: m.id,
      parentId: m.parentId,
      role: m.role,
      content: m.content,
      reasoning: m.reasoning,
      status: m.status,
      error: m.error,
      createdAt: iso(m.createdAt),
      updatedAt: iso(m.updatedAt),
      model: m.model,
      usage:
        m.promptTokens === null && m.completionTokens === null && m.totalTokens === null
          ? null
          : {
              promptTokens: m.promptTokens,
              completionTokens: m.completionTokens,
              totalTokens: m.totalTokens,
            },
      feedback: m.feedback && {
        rating: m.feedback.rating,
        comment: m.feedback.comment,
        createdAt: iso(m.feedback.createdAt),
        updatedAt: iso(m.feedback.updatedAt),
      },
      toolCalls: m.toolCalls.map((t) => ({
        callId: t.callId,
        server: t.server,
        name: t.name,
        arguments: t.arguments,
        result: t.result,
        isError: t.isError,
        status: t.status,
        round: t.round,
        textOffset: t.textOffset,
        startedAt: iso(t.startedAt),
        decidedAt: iso(t.decidedAt),
        decision: t.decision,
        completedAt: iso(t.completedAt),
      })),
      attachments: m.attachments.map(({ attachment: a }) => ({
        id: a.id,
        filename: a.filename,
        contentType: a.contentType,
        size: a.size,
        sha256: a.sha256,
        kind: a.kind,
        createdAt: iso(a.createdAt),
      })),
    })),
  };
}

const date = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const count = z.number().int().min(0).nullable();

const toolCallSchema = z.object({
  callId: z.string(),
  server: z.string(),
  name: z.string(),
  arguments: z.json(),
  result: z.string().nullable(),
  isError: z.boolean(),
  status: z.enum(["AWAITING_APPROVAL", "RUNNING", "COMPLETED", "FAILED", "DENIED", "CANCELLED"]),
  round: z.number().int().min(0),
  textOffset: z.number().int().min(0),
  startedAt: date,
  decidedAt: date.nullable(),
  decision: z.string().nullable(),
  completedAt: date.nullable(),
});

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, "must be a lowercase hex SHA-256");

// The kind and content type are read but not trusted: the import sniffs them again from the bytes.
const attachmentSchema = z.object({
  id: z.string().min(1),
  filename: z.string(),
  contentType: z.string().optional(),
  size: z.number().int().min(0),
  sha256,
  kind: z.enum(["IMAGE", "TEXT", "PDF", "OTHER"]).optional(),
  createdAt: date,
});

const messageSchema = z.object({
  id: z.string().min(1),
  parentId: z.string().min(1).nullable(),
  role: z.enum(["USER", "ASSISTANT", "TOOL", "SYSTEM"]),
  content: z.string(),
  reasoning: z.string().nullable().default(null),
  status: z.enum(["QUEUED", "STREAMING", "COMPLETE", "CANCELLED", "FAILED", "AWAITING_APPROVAL"]),
  error: z.string().nullable().default(null),
  createdAt: date,
  updatedAt: date.optional(),
  model: z.string().nullable(),
  usage: z.object({ promptTokens: count, completionTokens: count, totalTokens: count }).nullable(),
  feedback: z
    .object({
      rating: z.enum(["UP", "DOWN"]),
      comment: z.string().nullable(),
      createdAt: date,
      updatedAt: date,
    })
    .nullable(),
  toolCalls: z.array(toolCallSchema),
  attachments: z.array(attachmentSchema).default([]),
});

const conversationSchema = z.object({
  id: z.string().min(1),
  title: z.string(),
  createdAt: date,
  updatedAt: date,
  activityAt: date.optional(),
  archivedAt: date.nullable().default(null),
  pinnedAt: date.nullable(),
  tags: z.array(z.string()),
  activeLeafId: z.string().min(1).nullable(),
  messages: z.array(messageSchema),
});

// An imported conversation has no reply running: what was in flight when it was exported is stopped,
// and a queued message stands as sent (as `forkConversation` copies them).
const SETTLED_MESSAGE: Partial<Record<MessageStatus, MessageStatus>> = {
  STREAMING: "CANCELLED",
  AWAITING_APPROVAL: "CANCELLED",
  QUEUED: "COMPLETE",
};
const SETTLED_CALL: Partial<Record<ToolCallStatus, ToolCallStatus>> = {
  RUNNING: "CANCELLED",
  AWAITING_APPROVAL: "CANCELLED",
};

/**
 * One conversation of a native export, checked and turned into the tree to write; `index` is its place in
 * the file, for the error. Refused: a missing or mistyped field, duplicate message ids, a parent that is
 * not an earlier message, an active leaf that is not one of its messages.
 */
export function fromNative(value: unknown, index: number, titleLength: number): TreeConversation {
  const where = `conversation ${index}`;
  const c = checkedEntry(conversationSchema, value, where);
  const seen = new Set<string>();
  for (const [i, m] of c.messages.entries()) {
    if (seen.has(m.id)) throw badFile(`${where}.messages.${i}: the id "${m.id}" is used twice`);
    if (m.parentId !== null && !seen.has(m.parentId))
      throw badFile(`${where}.messages.${i}: parentId "${m.parentId}" is not an earlier message`);
    seen.add(m.id);
  }
  if (c.activeLeafId !== null && !seen.has(c.activeLeafId))
    throw badFile(`${where}.activeLeafId: "${c.activeLeafId}" is not one of its messages`);
  let tags: string[];
  try {
    tags = normalizeTags(c.tags);
  } catch (error) {
    throw badFile(`${where}.tags: ${(error as Error).message}`);
  }
  return {
    title: c.title.slice(0, titleLength),
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    activityAt: c.activityAt ?? c.updatedAt,
    archivedAt: c.archivedAt,
    pinnedAt: c.pinnedAt,
    tags,
    activeLeafKey: c.activeLeafId,
    messages: c.messages.map((m) => ({
      key: m.id,
      parentKey: m.parentId,
      role: m.role,
      content: m.content,
      reasoning: m.reasoning,
      status: SETTLED_MESSAGE[m.status] ?? m.status,
      error: m.error,
      model: m.model,
      usage: m.usage,
      createdAt: m.createdAt,
      updatedAt: m.updatedAt ?? m.createdAt,
      feedback: m.feedback,
      toolCalls: m.toolCalls.map((t) => ({
        ...t,
        arguments: t.arguments as Prisma.InputJsonValue | null,
        status: SETTLED_CALL[t.status] ?? t.status,
      })),
      attachments: m.attachments.map((a) => ({
        key: a.id,
        filename: a.filename,
        sha256: a.sha256,
        createdAt: a.createdAt,
      })),
    })),
  };
}

/**
 * Checks an entry of a native export's `blobs` before its bytes are read: the key must be a sha256 and the
 * base64 `data` a string. Returns where it is, for errors.
 */
export function checkBlobEntry(key: string, hasData: boolean): string {
  const where = `blobs.${key.slice(0, 64)}`;
  if (!sha256.safeParse(key).success) throw badFile(`${where}: the key must be a lowercase hex SHA-256`);
  if (!hasData) throw badFile(`${where}.data: expected the bytes as a base64 string`);
  return where;
}

/** Checks an entry's `size` (read once its `data` has been) against the bytes it held. */
export function checkBlobSize(where: string, fields: Record<string, unknown>, size: number): void {
  const declared = z.number().int().min(0).safeParse(fields.size);
  if (!declared.success) throw badFile(`${where}.size: expected a whole number of bytes`);
  if (declared.data !== size)
    throw badFile(`${where}: "data" holds ${size} bytes, not its "size" ${declared.data}`);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The bytes of base64 text that comes in pieces of any length, decoded a piece at a time. */
export async function* base64Bytes(pieces: AsyncIterable<string>, where: string): AsyncGenerator<Buffer> {
  let carry = "";
  for await (const piece of pieces) {
    const text = carry + piece;
    if (!BASE64.test(text)) throw badFile(`${where}.data: not base64`);
    const whole = text.length - (text.length % 4);
    if (whole > 0) yield Buffer.from(text.slice(0, whole), "base64");
    carry = text.slice(whole);
  }
  if (carry !== "") throw badFile(`${where}.data: not base64 (its length is not a multiple of 4)`);
}
