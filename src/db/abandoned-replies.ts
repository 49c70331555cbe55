import type { Db } from "./client.js";
import type { Message } from "./columns.js";
import { Prisma } from "./generated/prisma/client.js";
import { WITH_TOOL_CALLS } from "./messages.js";

// Replies whose writer is gone: a crashed process (one instance, recovered at start) or an instance that
// stopped renewing its leases (several instances sharing the database). Each instance renews the heartbeat
// of all its running replies in one statement, and fails the replies whose heartbeat is older than the
// lease; both use the database's clock, so the instances' clocks need not agree.

/** The error a reply left by a crash, or by an instance that died, is stored with. */
export const ABANDONED_REPLY_ERROR = "The server stopped while this reply was being written";

/** The result a tool call left running by a crash gets. */
export const ABANDONED_TOOL_CALL_RESULT = "The server stopped before the tool answered.";

/** A reply another instance abandoned, as claimed by the sweep. */
export type AbandonedReply = Pick<Message, "id" | "lastSeq">;

/** Renews the heartbeat of this instance's running replies; returns how many rows it touched. */
export function renewLeases(db: Db, messageIds: string[]): Promise<number> {
  if (messageIds.length === 0) return Promise.resolve(0);
  return db.$executeRaw`
    UPDATE "Message" SET "heartbeatAt" = now()
    WHERE id = ANY(${messageIds}::uuid[]) AND status = 'STREAMING'`;
}

/**
 * Marks `FAILED` (keeping their saved text) the replies whose lease expired, ends their tool calls that never
 * answered as errors, frees their conversations, and returns them. One statement: when several instances
 * sweep at once, each reply is claimed by exactly one. `lastSeq` becomes the seq of the final event (after
 * the last one saved; {@link setFinalSeq} raises it further when the dead run had shared more).
 */
export function claimExpiredReplies(db: Db, leaseMs: number): Promise<AbandonedReply[]> {
  return db.$queryRaw<AbandonedReply[]>`
    WITH failed AS (
      UPDATE "Message"
      SET status = 'FAILED', error = ${ABANDONED_REPLY_ERROR}, "lastSeq" = "lastSeq" + 1,
        "updatedAt" = now() AT TIME ZONE 'UTC'
      WHERE status = 'STREAMING' AND "heartbeatAt" < now() - ${leaseMs}::int * interval '1 millisecond'
      RETURNING id, "lastSeq", "conversationId"
    ), ${RELEASE_FAILED}
    SELECT id, "lastSeq" FROM failed`;
}

/** Sets a claimed reply's final seq; returns it with its tool calls, for its `MessageCompleted`. */
export function setFinalSeq(db: Db, messageId: string, lastSeq: number) {
  return db.message.update({ ...WITH_TOOL_CALLS, where: { id: messageId }, data: { lastSeq } });
}

/**
 * Marks replies a crashed process left `STREAMING` as `FAILED`, keeping their saved text, ends their tool
 * calls that never answered as errors, and frees their conversations; returns how many replies. For a
 * single instance, at start, when no reply can be running anywhere yet (several instances use leases).
 */
export async function failAbandonedReplies(db: Db): Promise<number> {
  const [row] = await db.$queryRaw<{ failed: number }[]>`
    WITH failed AS (
      UPDATE "Message" SET status = 'FAILED', error = ${ABANDONED_REPLY_ERROR}, "updatedAt" = now() AT TIME ZONE 'UTC'
      WHERE status = 'STREAMING'
      RETURNING id, "conversationId"
    ), ${RELEASE_FAILED}
    SELECT count(*)::int AS failed FROM failed`;
  return row?.failed ?? 0;
}

/**
 * What both sweeps do for the replies of their `failed` CTE (id, conversationId): end the tool calls that
 * never answered as errors, and free the conversations those replies held. Conversations are found through
 * their replies: `activeReplyId` is in no index (see the schema).
 */
const RELEASE_FAILED = Prisma.sql`unanswered AS (
      UPDATE "ToolCall"
      SET "isError" = true, status = 'FAILED', result = ${ABANDONED_TOOL_CALL_RESULT}, "completedAt" = now() AT TIME ZONE 'UTC'
      FROM failed WHERE "ToolCall"."messageId" = failed.id AND "ToolCall"."completedAt" IS NULL
    ), freed AS (
      UPDATE "Conversation" SET "activeReplyId" = NULL
      FROM failed WHERE "Conversation".id = failed."conversationId" AND "Conversation"."activeReplyId" = failed.id
    )`;
