import { cursorId, staleCursor } from "../core/pagination.js";
import { deleteConversationAttachments } from "./attachments.js";
import { type BlobRef, freeUnusedBlobs } from "./blobs.js";
import type { Db } from "./client.js";
import { isRecordNotFound } from "./errors.js";
import { type Conversation, Prisma, type TitleSource } from "./generated/prisma/client.js";

/**
 * The selection Pothos computes for the requested fields of a conversation (plugin-prisma's `query`), spread
 * into every read so relations load in the same statement; `{}` reads the row alone.
 */
export type ConversationSelection = {
  include?: Prisma.ConversationInclude;
  select?: Prisma.ConversationSelect;
};

/** A page as Pothos's `prismaConnection` asks for it: the cursor's row, a signed `take`, and `skip`. */
export type ConversationPageQuery = ConversationSelection & {
  cursor?: Prisma.ConversationWhereUniqueInput;
  take: number;
  skip: number;
};

/**
 * The list's order: pinned first (newest pin first), then most recently active; the id breaks ties so the
 * order is total and cursors are stable. `pinnedAt` is null on every unpinned row, so it only orders the
 * pinned ones. The index `(ownerId, pinned DESC, pinnedAt DESC, activityAt DESC, id DESC)` serves it.
 */
const LIST_ORDER = [
  { pinned: "desc" },
  { pinnedAt: "desc" },
  { activityAt: "desc" },
  { id: "desc" },
] satisfies Prisma.ConversationOrderByWithRelationInput[];

/** {@link LIST_ORDER} turned around, for backward pages. */
const LIST_ORDER_REVERSED = [
  { pinned: "asc" },
  { pinnedAt: "asc" },
  { activityAt: "asc" },
  { id: "asc" },
] satisfies Prisma.ConversationOrderByWithRelationInput[];

/**
 * Which of the owner's conversations a list shows: archived or not, pinned or not, with a tag (undefined:
 * either way). `tag` must already be normalised like stored tags.
 */
export type ConversationFilter = { archived?: boolean; pinned?: boolean; tag?: string };

function filterWhere(filter: ConversationFilter): Prisma.ConversationWhereInput {
  return {
    ...(filter.archived !== undefined && { archivedAt: filter.archived ? { not: null } : null }),
    ...(filter.pinned !== undefined && { pinned: filter.pinned }),
    ...(filter.tag !== undefined && { tags: { has: filter.tag } }),
  };
}

/** One of the owner's conversations, or null when it does not exist or is someone else's (not told apart). */
export function findOwnedConversation(
  db: Db,
  ownerId: string,
  id: string,
  query: ConversationSelection = {},
) {
  return db.conversation.findFirst({ ...query, where: { id, ownerId } });
}

/** Whether the conversation exists and is the owner's: the ownership check before acting on its id. */
export async function ownsConversation(db: Db, ownerId: string, id: string): Promise<boolean> {
  return (await db.conversation.count({ where: { id, ownerId } })) > 0;
}

/** Where a cursor's conversation sits in the list's order. */
type ListKey = { pinned: boolean; pinnedAt: Date | null; activityAt: Date; id: string };

/**
 * A page of the owner's conversations in the list's order (pinned first, then most recently active),
 * filtered. Keyset pages in both directions: Prisma answers a negative `take` (`last`/`before`) without a
 * LIMIT, reading every conversation after the cursor, so backward pages read in reverse order with a LIMIT
 * and are turned around. A cursor that no longer names one of the owner's conversations is stale
 * (`BAD_USER_INPUT`); one whose conversation was pinned or unpinned since pages on from its new place.
 */
export async function listConversations(
  db: Db,
  ownerId: string,
  filter: ConversationFilter,
  query: ConversationPageQuery,
) {
  const { cursor, take, skip, ...selection } = query;
  const from = cursorId(cursor);
  const where: Prisma.ConversationWhereInput = { ownerId, ...filterWhere(filter) };
  let at: ListKey | null = null;
  if (from !== null) {
    at = await db.conversation.findFirst({
      where: { id: from, ownerId },
      select: { pinned: true, pinnedAt: true, activityAt: true, id: true },
    });
    if (!at) throw staleCursor();
  }
  // `skip` is 1 when the cursor's own row is left out (Pothos pages past it), 0 when it is included.
  const strict = skip > 0;
  if (take >= 0) {
    return db.conversation.findMany({
      ...selection,
      where: at === null ? where : { AND: [where, after(at, strict)] },
      orderBy: LIST_ORDER,
      take,
    });
  }
  const rows = await db.conversation.findMany({
    ...selection,
    where: at === null ? where : { AND: [where, before(at, strict)] },
    orderBy: LIST_ORDER_REVERSED,
    take: -take,
  });
  return rows.reverse();
}

/** Less recently active than `at` (then a smaller id); `at` itself too unless `strict`. */
function olderThan(at: ListKey, strict: boolean): Prisma.ConversationWhereInput {
  return {
    OR: [
      { activityAt: { lt: at.activityAt } },
      { activityAt: at.activityAt, id: strict ? { lt: at.id } : { lte: at.id } },
    ],
  };
}

/** More recently active than `at` (then a larger id); `at` itself too unless `strict`. */
function newerThan(at: ListKey, strict: boolean): Prisma.ConversationWhereInput {
  return {
    OR: [
      { activityAt: { gt: at.activityAt } },
      { activityAt: at.activityAt, id: strict ? { gt: at.id } : { gte: at.id } },
    ],
  };
}

/**
 * The conversations after `at` in the list's order (forward pages). From a pinned one: the pins made
 * earlier (or at the same instant and older), then every unpinned one; from an unpinned one: the unpinned
 * ones older than it.
 */
function after(at: ListKey, strict: boolean): Prisma.ConversationWhereInput {
  if (!at.pinned || at.pinnedAt === null) return { pinned: false, ...olderThan(at, strict) };
  return {
    OR: [
      { pinned: false },
      { pinned: true, pinnedAt: { lt: at.pinnedAt } },
      { pinned: true, pinnedAt: at.pinnedAt, ...olderThan(at, strict) },
    ],
  };
}

/**
 * The conversations before `at` in the list's order (backward pages): the mirror of {@link after}. From an
 * unpinned one: every pinned one, then the unpinned ones newer than it; from a pinned one: the pins made
 * later (or at the same instant and newer).
 */
function before(at: ListKey, strict: boolean): Prisma.ConversationWhereInput {
  if (!at.pinned || at.pinnedAt === null)
    return { OR: [{ pinned: true }, { pinned: false, ...newerThan(at, strict) }] };
  return {
    pinned: true,
    OR: [{ pinnedAt: { gt: at.pinnedAt } }, { pinnedAt: at.pinnedAt, ...newerThan(at, strict) }],
  };
}

/** How many of the owner's conversations a filter selects (see {@link listConversations}). */
export function countConversations(db: Db, ownerId: string, filter: ConversationFilter) {
  return db.conversation.count({ where: { ownerId, ...filterWhere(filter) } });
}

/** The owner's conversations among `ids` (in no particular order), with the selected relations. */
export function conversationsByIds(db: Db, ownerId: string, ids: string[], query: ConversationSelection) {
  return db.conversation.findMany({ ...query, where: { id: { in: ids }, ownerId } });
}

/** Starts an empty conversation; a title its user gave is never replaced by a generated one. */
export function createConversation(db: Db, ownerId: string, title: string, titleSource: TitleSource) {
  return db.conversation.create({ data: { ownerId, title, titleSource } });
}

/**
 * Renames one of the owner's conversations (a user's title: never replaced by a generated one); null when it
 * does not exist or is someone else's.
 */
export async function renameConversation(db: Db, ownerId: string, id: string, title: string) {
  try {
    return await db.conversation.update({ where: { id, ownerId }, data: { title, titleSource: "USER" } });
  } catch (error) {
    if (isRecordNotFound(error)) return null;
    throw error;
  }
}

/**
 * Archives or unarchives one of the owner's conversations and returns it; null when it does not exist or is
 * someone else's. Idempotent: archiving an archived conversation keeps its original `archivedAt`.
 */
export async function setConversationArchived(db: Db, ownerId: string, id: string, archived: boolean) {
  const where = { id, ownerId };
  await db.conversation.updateMany({
    where: { ...where, archivedAt: archived ? null : { not: null } },
    data: { archivedAt: archived ? new Date() : null },
  });
  return db.conversation.findFirst({ where });
}

/**
 * Pins or unpins one of the owner's conversations and returns it; null when it does not exist or is someone
 * else's. Idempotent: pinning a pinned conversation keeps its original `pinnedAt` (and place).
 */
export async function setConversationPinned(db: Db, ownerId: string, id: string, pinned: boolean) {
  const where = { id, ownerId };
  await db.conversation.updateMany({
    where: { ...where, pinned: !pinned },
    data: { pinned, pinnedAt: pinned ? new Date() : null },
  });
  return db.conversation.findFirst({ where });
}

/**
 * Replaces the tags of one of the owner's conversations (already normalised) and returns it; null when it
 * does not exist or is someone else's.
 */
export async function setConversationTags(db: Db, ownerId: string, id: string, tags: string[]) {
  const { count } = await db.conversation.updateMany({ where: { id, ownerId }, data: { tags } });
  return count === 0 ? null : db.conversation.findFirst({ where: { id, ownerId } });
}

/**
 * The owner's tags with how many of their conversations (archived or not, as `archived` says) carry each,
 * most used first, then alphabetically: one statement.
 */
export async function tagCounts(db: Db, ownerId: string, archived: boolean | undefined) {
  const archivedSql =
    archived === undefined
      ? Prisma.empty
      : archived
        ? Prisma.sql`AND c."archivedAt" IS NOT NULL`
        : Prisma.sql`AND c."archivedAt" IS NULL`;
  return db.$queryRaw<{ tag: string; count: number }[]>`
    SELECT t.tag, count(*)::int AS count
    FROM "Conversation" c CROSS JOIN LATERAL unnest(c.tags) AS t(tag)
    WHERE c."ownerId" = ${ownerId} ${archivedSql}
    GROUP BY t.tag
    ORDER BY count DESC, t.tag ASC`;
}

/**
 * Deletes one of the owner's conversations with its messages and tool calls (the foreign keys cascade), and
 * the attachments only its messages sent; returns the blobs nothing uses any more (their files are the
 * caller's to remove), or null when there was no conversation to delete.
 */
export async function deleteConversation(db: Db, ownerId: string, id: string): Promise<BlobRef[] | null> {
  const blobIds = await db.$transaction(async (tx) => {
    const owned = await tx.conversation.findFirst({ where: { id, ownerId }, select: { id: true } });
    if (!owned) return null;
    const freed = await deleteConversationAttachments(tx, id);
    const { count } = await tx.conversation.deleteMany({ where: { id, ownerId } });
    return count === 0 ? null : freed;
  });
  // After the commit: a blob that an upload takes up meanwhile is kept (see freeUnusedBlobs).
  return blobIds === null ? null : freeUnusedBlobs(db, blobIds);
}

/** The reply being written in a conversation (its assistant message id), if any. */
export async function activeReplyOf(db: Db, conversationId: string): Promise<string | null> {
  const conversation = await db.conversation.findUnique({
    where: { id: conversationId },
    select: { activeReplyId: true },
  });
  return conversation?.activeReplyId ?? null;
}

/** What replies of a conversation are asked with (each null: the server's default). */
export type ConversationSettings = Pick<Conversation, "model" | "systemPrompt" | "temperature">;

/** The settings of no conversation yet: every one the server's default. */
export const DEFAULT_SETTINGS: ConversationSettings = { model: null, systemPrompt: null, temperature: null };

/** A conversation's settings for its next reply; the defaults when it was deleted meanwhile. */
export async function conversationSettings(db: Db, id: string): Promise<ConversationSettings> {
  const row = await db.conversation.findUnique({
    where: { id },
    select: { model: true, systemPrompt: true, temperature: true },
  });
  return row ?? DEFAULT_SETTINGS;
}

/**
 * Changes the settings `patch` names (absent ones stay, null ones return to the default) of one of the
 * owner's conversations and returns it; null when it does not exist or is someone else's.
 */
export async function updateConversationSettings(
  db: Db,
  ownerId: string,
  id: string,
  patch: Partial<ConversationSettings>,
) {
  const { count } = await db.conversation.updateMany({ where: { id, ownerId }, data: patch });
  return count === 0 ? null : db.conversation.findFirst({ where: { id, ownerId } });
}

/**
 * Claims the conversation's one chance at a generated title: true when its title was still a default or
 * made from the first message (it is then marked `MODEL`, so no other reply tries again and a rename from
 * now on wins, see {@link saveGeneratedTitle}).
 */
export async function claimTitle(db: Db, id: string): Promise<boolean> {
  const { count } = await db.conversation.updateMany({
    where: { id, titleSource: { in: ["DEFAULT", "MESSAGE"] } },
    data: { titleSource: "MODEL" },
  });
  return count > 0;
}

/**
 * Saves a generated title unless the user renamed the conversation since it was claimed; returns the
 * conversation, or null when the title was not saved.
 */
export async function saveGeneratedTitle(db: Db, id: string, title: string) {
  const { count } = await db.conversation.updateMany({
    where: { id, titleSource: "MODEL" },
    data: { title },
  });
  return count === 0 ? null : db.conversation.findUnique({ where: { id } });
}
