import { randomBytes, randomInt } from "node:crypto";
import { newUuid } from "../core/ids.js";
import { lockQuota, usedBytes } from "./attachments.js";
import type { Db } from "./client.js";
import {
  type AttachmentKind,
  type FeedbackRating,
  type MessageRole,
  type MessageStatus,
  Prisma,
  type ToolCallStatus,
} from "./generated/prisma/client.js";

// Export and import of whole conversations: the reads an export streams, and the writes that rebuild a
// conversation tree (from an export, a ChatGPT data export, or a share) under new ids.

/** A transaction's client, or the client itself: imports write each file in one transaction. */
export type Tx = Omit<Db, "$connect" | "$disconnect" | "$on" | "$transaction" | "$extends">;

const EXPORTED = {
  messages: {
    orderBy: { position: "asc" },
    include: {
      toolCalls: { orderBy: { position: "asc" } },
      feedback: true,
      attachments: {
        orderBy: { position: "asc" },
        include: { attachment: { include: { blob: { select: { id: true, sha256: true, store: true } } } } },
      },
    },
  },
} satisfies Prisma.ConversationInclude;

/**
 * The next page of the owner's conversations to export (all of them, or those of `ids`), in id order
 * after `afterId`, each whole. Ids that are missing or someone else's are left out.
 */
export function exportPage(
  db: Db,
  ownerId: string,
  page: { ids: string[] | null; afterId: string | null; take: number },
) {
  return db.conversation.findMany({
    where: {
      ownerId,
      ...(page.ids && { id: { in: page.ids } }),
      ...(page.afterId && { id: { gt: page.afterId } }),
    },
    orderBy: { id: "asc" },
    take: page.take,
    include: EXPORTED,
    // Joined, PostgreSQL aggregated the messages of every conversation before picking the page's (measured:
    // 0.2 s a page, whatever its size, with 20,000 messages in the table); one statement per relation with
    // the page's ids reads only what the page holds.
    relationLoadStrategy: "query",
  });
}

/** A conversation as an export reads it: every message in position order, tool calls and feedback. */
export type ExportedConversationRow = Awaited<ReturnType<typeof exportPage>>[number];

/** A tool call to write, as an import hands it over. */
export interface TreeToolCall {
  round: number;
  textOffset: number;
  callId: string;
  server: string;
  name: string;
  /** Null stands for JSON's null. */
  arguments: Prisma.InputJsonValue | null;
  result: string | null;
  isError: boolean;
  status: ToolCallStatus;
  startedAt: Date;
  decidedAt: Date | null;
  decision: string | null;
  completedAt: Date | null;
}

/**
 * An attachment a message sent, as an import file declares it: `key` is the file's id for it (a message may
 * share one with others), `sha256` names its bytes in the file's blobs.
 */
export interface TreeAttachment {
  key: string;
  filename: string;
  sha256: string;
  createdAt: Date;
}

/** A message to write: `key` and `parentKey` are the source's ids, only used to link the tree. */
export interface TreeMessage {
  key: string;
  parentKey: string | null;
  role: MessageRole;
  content: string;
  reasoning: string | null;
  status: MessageStatus;
  error: string | null;
  model: string | null;
  usage: { promptTokens: number | null; completionTokens: number | null; totalTokens: number | null } | null;
  createdAt: Date;
  updatedAt: Date;
  feedback: { rating: FeedbackRating; comment: string | null; createdAt: Date; updatedAt: Date } | null;
  toolCalls: TreeToolCall[];
  attachments?: TreeAttachment[];
}

/** A declared attachment of a written message, to link once its bytes are stored (they come later). */
export interface PendingAttachment extends TreeAttachment {
  messageId: string;
  position: number;
}

/**
 * A conversation to write. `messages` come parents first, in the order they get their positions;
 * `activeLeafKey` names the newest message of the active path (null: no active path, e.g. empty).
 */
export interface TreeConversation {
  title: string;
  createdAt: Date;
  updatedAt: Date;
  activityAt: Date;
  archivedAt: Date | null;
  pinnedAt: Date | null;
  tags: string[];
  activeLeafKey: string | null;
  messages: TreeMessage[];
}

/** A time-ordered UUID (version 7) with a counter within the millisecond, so ids follow insertion order. */
let lastMs = 0;
let sequence = 0;
function uuidv7(): string {
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    sequence = randomInt(0, 0x800);
  } else if (++sequence > 0xfff) {
    lastMs += 1;
    sequence = 0;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The rows of one conversation tree, under new ids, with the bookkeeping the tree pages rely on. */
function rowsOf(ownerId: string, tree: TreeConversation) {
  const conversationId = uuidv7();
  const ids = new Map<string, string>();
  const depth = new Map<string, number>();
  const children = new Map<string | null, number>();
  for (const m of tree.messages) {
    ids.set(m.key, newUuid());
    depth.set(m.key, m.parentKey === null ? 1 : (depth.get(m.parentKey) ?? 0) + 1);
    children.set(m.parentKey, (children.get(m.parentKey) ?? 0) + 1);
  }
  const onPath = new Set<string>();
  const parentOf = new Map(tree.messages.map((m) => [m.key, m.parentKey]));
  for (let key = tree.activeLeafKey; key !== null; key = parentOf.get(key) ?? null) onPath.add(key);
  const idOf = (key: string) => ids.get(key) as string;

  const conversation = {
    id: conversationId,
    ownerId,
    title: tree.title,
    createdAt: tree.createdAt,
    updatedAt: tree.updatedAt,
    activityAt: tree.activityAt,
    archivedAt: tree.archivedAt,
    pinned: tree.pinnedAt !== null,
    pinnedAt: tree.pinnedAt,
    tags: tree.tags,
    messageCount: tree.messages.length,
    rootCount: children.get(null) ?? 0,
    pathLength: onPath.size,
  } satisfies Prisma.ConversationCreateManyInput;
  const siblingsSoFar = new Map<string | null, number>();
  const messages = tree.messages.map((m, i) => {
    const siblingIndex = siblingsSoFar.get(m.parentKey) ?? 0;
    siblingsSoFar.set(m.parentKey, siblingIndex + 1);
    return {
      id: idOf(m.key),
      conversationId,
      ownerId,
      position: i + 1,
      parentId: m.parentKey === null ? null : idOf(m.parentKey),
      depth: depth.get(m.key) as number,
      siblingIndex,
      childCount: children.get(m.key) ?? 0,
      onActivePath: onPath.has(m.key),
      role: m.role,
      content: m.content,
      reasoning: m.reasoning,
      status: m.status,
      error: m.error,
      model: m.model,
      promptTokens: m.usage?.promptTokens ?? null,
      completionTokens: m.usage?.completionTokens ?? null,
      totalTokens: m.usage?.totalTokens ?? null,
      createdAt: m.createdAt,
      updatedAt: m.updatedAt,
    } satisfies Prisma.MessageCreateManyInput;
  });
  const toolCalls = tree.messages.flatMap((m) =>
    m.toolCalls.map(
      (call, position) =>
        ({
          ...call,
          arguments: call.arguments ?? Prisma.JsonNull,
          messageId: idOf(m.key),
          position,
        }) satisfies Prisma.ToolCallCreateManyInput,
    ),
  );
  const feedback = tree.messages.flatMap((m) =>
    m.feedback ? [{ ...m.feedback, messageId: idOf(m.key), ownerId }] : [],
  );
  const attachments = tree.messages.flatMap((m) =>
    (m.attachments ?? []).map(
      (a, position): PendingAttachment => ({ ...a, messageId: idOf(m.key), position: position + 1 }),
    ),
  );
  const leaf = tree.activeLeafKey === null ? null : { id: conversationId, leaf: idOf(tree.activeLeafKey) };
  return { conversation, messages, toolCalls, feedback, attachments, leaf };
}

/**
 * Writes conversation trees as the owner's, under new ids, in a handful of statements whatever their number:
 * the conversations, their messages, tool calls and feedback, then the active leaves (a conversation's leaf
 * is a message, whose row needs the conversation's first). The caller has checked that every `parentKey`
 * names an earlier message of its tree and that `activeLeafKey` names one. Returns the new ids, in order.
 */
export async function insertConversationTrees(
  tx: Tx,
  ownerId: string,
  trees: readonly TreeConversation[],
): Promise<string[]> {
  return (await insertTrees(tx, ownerId, trees)).ids;
}

/** {@link insertConversationTrees}, also handing back the attachments the messages declared. */
async function insertTrees(
  tx: Tx,
  ownerId: string,
  trees: readonly TreeConversation[],
): Promise<{ ids: string[]; attachments: PendingAttachment[] }> {
  const rows = trees.map((tree) => rowsOf(ownerId, tree));
  if (rows.length === 0) return { ids: [], attachments: [] };
  await tx.conversation.createMany({ data: rows.map((r) => r.conversation) });
  const messages = rows.flatMap((r) => r.messages);
  // One JSON parameter rather than Prisma's createMany: its twenty parameters a row cost the client more
  // than the database's own work (measured: about 0.5 s a thousand messages, three times the insert).
  if (messages.length > 0)
    await tx.$executeRaw`
      INSERT INTO "public"."Message"
             (id, "conversationId", "ownerId", position, "parentId", depth, "siblingIndex", "childCount",
              "onActivePath", role, content, reasoning, status, error, model, "promptTokens", "completionTokens",
              "totalTokens", "createdAt", "updatedAt")
      SELECT id, "conversationId", "ownerId", position, "parentId", depth, "siblingIndex", "childCount",
             "onActivePath", role, content, reasoning, status, error, model, "promptTokens", "completionTokens",
             "totalTokens", "createdAt", "updatedAt"
        FROM jsonb_to_recordset(${JSON.stringify(messages)}::jsonb) AS m(
               id uuid, "conversationId" uuid, "ownerId" text, position int, "parentId" uuid, depth int,
               "siblingIndex" int, "childCount" int, "onActivePath" boolean, role "public"."MessageRole",
               content text, reasoning text, status "public"."MessageStatus", error text, model text,
               "promptTokens" int, "completionTokens" int, "totalTokens" int, "createdAt" timestamp(3),
               "updatedAt" timestamp(3))`;
  const toolCalls = rows.flatMap((r) => r.toolCalls);
  if (toolCalls.length > 0) await tx.toolCall.createMany({ data: toolCalls });
  const feedback = rows.flatMap((r) => r.feedback);
  if (feedback.length > 0) await tx.messageFeedback.createMany({ data: feedback });
  const leaves = rows.flatMap((r) => (r.leaf ? [r.leaf] : []));
  if (leaves.length > 0)
    await tx.$executeRaw`
      UPDATE "public"."Conversation" AS c SET "activeLeafId" = v.leaf
        FROM jsonb_to_recordset(${JSON.stringify(leaves)}::jsonb) AS v(id uuid, leaf uuid)
       WHERE c.id = v.id`;
  return { ids: rows.map((r) => r.conversation.id), attachments: rows.flatMap((r) => r.attachments) };
}

/** Longest a whole file's import may hold its transaction open. */
const IMPORT_TRANSACTION_MS = 10 * 60_000;
/** Conversations are written in batches of about this many messages (at least one conversation each). */
const BATCH_MESSAGES = 1_000;

/**
 * Writes every conversation `source` yields as the owner's, all in one transaction: a file that fails
 * anywhere (bad JSON, a bad conversation, bad bytes, a database error) leaves nothing behind. `source` is
 * given the transaction (to store an import's blobs in it) and consumed inside it, so a streamed file is
 * parsed while it is written; conversations are held only until a batch of about {@link BATCH_MESSAGES}
 * messages is written. The attachments the messages declared are handed to `attach` at the end, in the
 * same transaction, once the whole file (and so its blobs, which follow the conversations) has been read.
 */
export function importTrees(
  db: Db,
  ownerId: string,
  source: (tx: Tx) => AsyncIterable<TreeConversation>,
  attach?: (tx: Tx, attachments: PendingAttachment[]) => Promise<void>,
): Promise<string[]> {
  return db.$transaction(
    async (tx) => {
      const created: string[] = [];
      const declared: PendingAttachment[] = [];
      let batch: TreeConversation[] = [];
      let size = 0;
      const write = async () => {
        const { ids, attachments } = await insertTrees(tx, ownerId, batch);
        created.push(...ids);
        declared.push(...attachments);
        batch = [];
        size = 0;
      };
      for await (const tree of source(tx)) {
        batch.push(tree);
        size += tree.messages.length;
        if (size >= BATCH_MESSAGES) await write();
      }
      await write();
      await attach?.(tx, declared);
      return created;
    },
    { timeout: IMPORT_TRANSACTION_MS },
  );
}

/** A declared attachment whose bytes were stored, with its type as sniffed from them. */
export interface ImportedAttachment extends PendingAttachment {
  blobId: string;
  size: number;
  kind: AttachmentKind;
  contentType: string;
}

/**
 * Records imported attachments as the owner's (one per file key, however many messages sent it; new ids)
 * and links them to their messages. False when the owner would pass `quotaBytes` (checked behind the
 * owner's `lockQuota`, so that imports and uploads at once cannot all fit): the caller then fails the
 * transaction, so nothing stays.
 */
export async function insertImportedAttachments(
  tx: Tx,
  ownerId: string,
  imported: ImportedAttachment[],
  quotaBytes: number,
): Promise<boolean> {
  const ids = new Map<string, string>();
  const attachments: Prisma.AttachmentCreateManyInput[] = [];
  const links: Prisma.MessageAttachmentCreateManyInput[] = [];
  for (const a of imported) {
    let id = ids.get(a.key);
    if (id === undefined) {
      id = newUuid();
      ids.set(a.key, id);
      attachments.push({
        id,
        ownerId,
        filename: a.filename,
        contentType: a.contentType,
        size: a.size,
        sha256: a.sha256,
        kind: a.kind,
        blobId: a.blobId,
        createdAt: a.createdAt,
      });
    }
    links.push({ messageId: a.messageId, attachmentId: id, position: a.position });
  }
  if (attachments.length === 0) return true;
  await tx.attachment.createMany({ data: attachments });
  await tx.messageAttachment.createMany({ data: links, skipDuplicates: true });
  await lockQuota(tx, ownerId);
  return (await usedBytes(tx, ownerId)) <= quotaBytes;
}
