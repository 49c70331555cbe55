import { cursorId, staleCursor } from "../core/pagination.js";
import type { Db } from "./client.js";
import type { MessageRole, Prisma } from "./generated/prisma/client.js";

/**
 * The selection Pothos computes for the requested fields of a message (plugin-prisma's `query`), or one of
 * db's own, spread into every read so relations load in the same statement.
 */
export type MessageSelection = { include?: Prisma.MessageInclude; select?: Prisma.MessageSelect };

/** A page as Pothos's `prismaConnection` asks for it: the cursor's row, a signed `take`, and `skip`. */
export type MessagePageQuery = MessageSelection & {
  cursor?: Prisma.MessageWhereUniqueInput;
  take: number;
  skip: number;
};

/** A message with its tool calls in the order the model made them: what a run's events carry. */
export const WITH_TOOL_CALLS = {
  include: { toolCalls: { orderBy: { position: "asc" } } },
} satisfies MessageSelection;

/**
 * A page of a conversation's messages by Pothos's cursor: see {@link messagePage}. A cursor that names no
 * message of this conversation is stale (`BAD_USER_INPUT`).
 */
export async function listMessages(db: Db, conversationId: string, query: MessagePageQuery) {
  const { cursor, take, skip, ...selection } = query;
  const from = cursorId(cursor);
  // The cursor's position: keyset pages compare on it, and a cursor without one here is stale or foreign.
  let position: number | undefined;
  if (from !== null) {
    const row = await db.message.findFirst({
      where: { id: from, conversationId },
      select: { position: true },
    });
    if (!row) throw staleCursor();
    position = row.position;
  }
  return messagePage(db, conversationId, { take, position, inclusive: skip === 0 }, selection);
}

/**
 * A page of a conversation's messages in conversation order (oldest first): a positive `take` reads forward
 * from `position`, a negative one the newest `-take` before it (older history); the message at `position`
 * itself only when `inclusive`. Without a position, the conversation's first or last messages. The caller
 * has checked that the conversation is its user's.
 */
export async function messagePage<S extends MessageSelection>(
  db: Db,
  conversationId: string,
  page: { take: number; position?: number | undefined; inclusive?: boolean },
  selection: S,
): Promise<Prisma.MessageGetPayload<S>[]> {
  const { take, position, inclusive = false } = page;
  let bound: Prisma.MessageWhereInput = {};
  if (position !== undefined && take >= 0)
    bound = { position: inclusive ? { gte: position } : { gt: position } };
  if (position !== undefined && take < 0)
    bound = { position: inclusive ? { lte: position } : { lt: position } };
  // Backwards, as keyset: Prisma answers a negative `take` without a LIMIT, reading every older message of
  // the conversation. Newest first with a LIMIT, then back to conversation order.
  const rows = await db.message.findMany({
    ...selection,
    where: { conversationId, ...bound },
    orderBy: { position: take >= 0 ? "asc" : "desc" },
    take: Math.abs(take),
  });
  if (take < 0) rows.reverse();
  // Prisma infers rows through a generic selection as bare messages; they hold what `S` selects.
  return rows as Prisma.MessageGetPayload<S>[];
}

/** The newest `limit` messages before `beforePosition`, oldest first, with their tool calls: model history. */
export function messageHistory(db: Db, conversationId: string, beforePosition: number, limit: number) {
  return messagePage(db, conversationId, { take: -limit, position: beforePosition }, WITH_TOOL_CALLS);
}

/** The owner's messages among `ids` (in no particular order), with the selected fields and relations. */
export function messagesByIds<S extends MessageSelection>(
  db: Db,
  ownerId: string,
  ids: string[],
  selection: S,
) {
  return db.message.findMany({ ...selection, where: { id: { in: ids }, ownerId } }) as Prisma.PrismaPromise<
    Prisma.MessageGetPayload<S>[]
  >;
}

/** Whether the message exists and is the owner's (of `role`, when given): the check before acting on it. */
export async function ownsMessage(db: Db, ownerId: string, id: string, role?: MessageRole): Promise<boolean> {
  const message = await db.message.findFirst({
    where: { id, ownerId, ...(role === undefined ? {} : { role }) },
    select: { id: true },
  });
  return message !== null;
}

/** A message by id with the selected relations, or null when it is gone. */
export function findMessage(db: Db, id: string, selection: MessageSelection) {
  return db.message.findUnique({ ...selection, where: { id } });
}

/** A message by id that must exist (the caller has just seen it). */
export function getMessage(db: Db, id: string) {
  return db.message.findUniqueOrThrow({ where: { id } });
}

/** A message with its tool calls in order, as a run's events carry it; null when it is gone. */
export function findMessageWithToolCalls(db: Db, id: string) {
  return db.message.findUnique({ ...WITH_TOOL_CALLS, where: { id } });
}
