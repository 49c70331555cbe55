import { cursorId, staleCursor } from "../core/pagination.js";
import { type Db, queryRows } from "./client.js";
import { type MessageRole, Prisma } from "./generated/prisma/client.js";

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
 * A page of a conversation's active path by Pothos's cursor: see {@link messagePage}. The cursor may name any
 * message of the conversation (also one a branch switch has taken off the path): pages are keyed on depth.
 * A cursor that names no message of this conversation is stale (`BAD_USER_INPUT`).
 */
export async function listMessages(db: Db, conversationId: string, query: MessagePageQuery) {
  const { cursor, take, skip, ...selection } = query;
  const from = cursorId(cursor);
  // The cursor's depth: keyset pages compare on it, and a cursor without one here is stale or foreign.
  let depth: number | undefined;
  if (from !== null) {
    const row = await db.message.findFirst({
      where: { id: from, conversationId },
      select: { depth: true },
    });
    if (!row) throw staleCursor();
    depth = row.depth;
  }
  return messagePage(db, conversationId, { take, depth, inclusive: skip === 0 }, selection);
}

/**
 * A page of a conversation's active path (root .. active leaf, oldest first): a positive `take` reads forward
 * from `depth`, a negative one the newest `-take` before it (older history); the message at `depth` itself
 * only when `inclusive`. Without a depth, the path's first or last messages. One index range
 * (conversationId, onActivePath, depth), as cheap as a linear list. The caller has checked that the
 * conversation is its user's.
 */
export async function messagePage<S extends MessageSelection>(
  db: Db,
  conversationId: string,
  page: { take: number; depth?: number | undefined; inclusive?: boolean },
  selection: S,
): Promise<Prisma.MessageGetPayload<S>[]> {
  const { take, depth, inclusive = false } = page;
  let bound: Prisma.MessageWhereInput = {};
  if (depth !== undefined && take >= 0) bound = { depth: inclusive ? { gte: depth } : { gt: depth } };
  if (depth !== undefined && take < 0) bound = { depth: inclusive ? { lte: depth } : { lt: depth } };
  // Backwards, as keyset: Prisma answers a negative `take` without a LIMIT, reading every older message of
  // the path. Newest first with a LIMIT, then back to path order.
  const rows = await db.message.findMany({
    ...selection,
    where: { conversationId, onActivePath: true, ...bound },
    orderBy: { depth: take >= 0 ? "asc" : "desc" },
    take: Math.abs(take),
  });
  if (take < 0) rows.reverse();
  // Prisma infers rows through a generic selection as bare messages; they hold what `S` selects.
  return rows as Prisma.MessageGetPayload<S>[];
}

/**
 * Model history: the path from the root to `lastId` (inclusive), its newest `limit` messages, oldest first,
 * with their tool calls, and which of them carry attachments (looked up in the same statement as the path,
 * so a history without any costs no lookup of attachments). Walks the parents (whatever the active path is
 * now: a reply answers the branch it was asked on), `limit` steps at most.
 */
export async function pathHistory(db: Db, lastId: string, limit: number) {
  // A read: it starts with SELECT, so it is not mistaken for a write (statement logs, the send's test).
  const path = await queryRows<{ id: string; files: boolean }>(
    db,
    Prisma.sql`
      SELECT id::text AS id, files FROM (
        WITH RECURSIVE up AS (
          SELECT id, "parentId", 1 AS n FROM "public"."Message" WHERE id = ${lastId}::uuid
          UNION ALL
          SELECT m.id, m."parentId", up.n + 1 FROM "public"."Message" m JOIN up ON m.id = up."parentId"
           WHERE up.n < ${limit}
        )
        SELECT id, EXISTS (SELECT FROM "public"."MessageAttachment" a WHERE a."messageId" = up.id) AS files
          FROM up
      ) AS path`,
  );
  if (path.length === 0) return { rows: [], withFiles: new Set<string>() };
  const rows = await db.message.findMany({
    ...WITH_TOOL_CALLS,
    where: { id: { in: path.map((r) => r.id) } },
    orderBy: { depth: "asc" },
  });
  return { rows, withFiles: new Set(path.filter((r) => r.files).map((r) => r.id)) };
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

/** Where one of the owner's messages sits: its conversation, parent and role; null when missing or not theirs. */
export function findOwnedMessage(db: Db, ownerId: string, id: string) {
  return db.message.findFirst({
    where: { id, ownerId },
    select: { id: true, conversationId: true, parentId: true, role: true, depth: true, model: true },
  });
}
