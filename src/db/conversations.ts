import { cursorId, staleCursor } from "../core/pagination.js";
import type { Db } from "./client.js";
import { isRecordNotFound } from "./errors.js";
import type { Prisma } from "./generated/prisma/client.js";

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

/** Most recently active first; the id breaks ties so the order is total and cursors are stable. */
const RECENT_FIRST = [
  { activityAt: "desc" },
  { id: "desc" },
] satisfies Prisma.ConversationOrderByWithRelationInput[];

/** Only archived conversations (true), only the others (false), or all of them (undefined). */
function archivedWhere(archived: boolean | undefined): Prisma.ConversationWhereInput {
  return archived === undefined ? {} : { archivedAt: archived ? { not: null } : null };
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

/**
 * A page of the owner's conversations, most recently active first, filtered by archived state. Keyset pages
 * in both directions: Prisma answers a negative `take` (`last`/`before`) without a LIMIT, reading every
 * conversation after the cursor, so backward pages read newest-last with a LIMIT and are turned around.
 * A cursor that no longer names one of the owner's conversations is stale (`BAD_USER_INPUT`).
 */
export async function listConversations(
  db: Db,
  ownerId: string,
  archived: boolean | undefined,
  query: ConversationPageQuery,
) {
  const { cursor, take, skip, ...selection } = query;
  const from = cursorId(cursor);
  const where: Prisma.ConversationWhereInput = { ownerId, ...archivedWhere(archived) };
  let at: { activityAt: Date; id: string } | null = null;
  if (from !== null) {
    at = await db.conversation.findFirst({
      where: { id: from, ownerId },
      select: { activityAt: true, id: true },
    });
    if (!at) throw staleCursor();
  }
  // `skip` is 1 when the cursor's own row is left out (Pothos pages past it), 0 when it is included.
  const strict = skip > 0;
  if (take >= 0) {
    return db.conversation.findMany({
      ...selection,
      where: at === null ? where : { ...where, ...beyond(at, "older", strict) },
      orderBy: RECENT_FIRST,
      take,
    });
  }
  const rows = await db.conversation.findMany({
    ...selection,
    where: at === null ? where : { ...where, ...beyond(at, "newer", strict) },
    orderBy: [{ activityAt: "asc" }, { id: "asc" }],
    take: -take,
  });
  return rows.reverse();
}

/**
 * Conversations beyond `at` in the list's order: `older` (less recently active, then smaller id) for forward
 * pages, newer for backward ones; `at` itself too unless `strict`.
 */
function beyond(
  at: { activityAt: Date; id: string },
  direction: "older" | "newer",
  strict: boolean,
): Prisma.ConversationWhereInput {
  const after = direction === "older" ? "lt" : "gt";
  const afterOrAt = direction === "older" ? "lte" : "gte";
  return {
    OR: [
      { activityAt: { [after]: at.activityAt } },
      { activityAt: at.activityAt, id: { [strict ? after : afterOrAt]: at.id } },
    ],
  };
}

/** How many conversations the owner has in the given archived state (see {@link listConversations}). */
export function countConversations(db: Db, ownerId: string, archived: boolean | undefined) {
  return db.conversation.count({ where: { ownerId, ...archivedWhere(archived) } });
}

/** The owner's conversations among `ids` (in no particular order), with the selected relations. */
export function conversationsByIds(db: Db, ownerId: string, ids: string[], query: ConversationSelection) {
  return db.conversation.findMany({ ...query, where: { id: { in: ids }, ownerId } });
}

/** Starts an empty conversation. */
export function createConversation(db: Db, ownerId: string, title: string) {
  return db.conversation.create({ data: { ownerId, title } });
}

/** Renames one of the owner's conversations; null when it does not exist or is someone else's. */
export async function renameConversation(db: Db, ownerId: string, id: string, title: string) {
  try {
    return await db.conversation.update({ where: { id, ownerId }, data: { title } });
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
 * Deletes one of the owner's conversations with its messages and tool calls (the foreign keys cascade);
 * false when there was none to delete.
 */
export async function deleteConversation(db: Db, ownerId: string, id: string): Promise<boolean> {
  const { count } = await db.conversation.deleteMany({ where: { id, ownerId } });
  return count > 0;
}

/** The reply being written in a conversation (its assistant message id), if any. */
export async function activeReplyOf(db: Db, conversationId: string): Promise<string | null> {
  const conversation = await db.conversation.findUnique({
    where: { id: conversationId },
    select: { activeReplyId: true },
  });
  return conversation?.activeReplyId ?? null;
}
