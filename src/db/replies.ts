import { type Db, queryRows } from "./client.js";
import { MESSAGE_COLUMNS, type Message } from "./columns.js";
import { Prisma } from "./generated/prisma/client.js";

// The writes of a reply while it streams and when it ends. Every one is fenced on the status: a reply that
// ended, here or on another instance, keeps its final state.

/** Streamed text for one reply, as a flush saves it. */
export interface ReplyText {
  messageId: string;
  /** Appended to the stored text, or the whole text when `at` is negative. */
  text: string;
  /** Characters (code points) the stored text must hold for the append to land; negative to replace it. */
  at: number;
  /** The seq of the newest event the text covers. */
  lastSeq: number;
  /** Reasoning appended to the stored reasoning (the whole of it when `at` is negative); null: none new. */
  reasoning: string | null;
}

/**
 * Saves the streamed text of many replies in one statement (`UPDATE … FROM unnest(…)`); returns the ids of
 * the replies written. A reply is left alone when it is no longer `STREAMING`, or when its stored text does
 * not end where the append was to follow (`at`).
 */
export async function appendReplyTexts(db: Db, replies: ReplyText[]): Promise<Set<string>> {
  const ids = replies.map((r) => r.messageId);
  const texts = replies.map((r) => r.text);
  const ats = replies.map((r) => r.at);
  const seqs = replies.map((r) => r.lastSeq);
  const reasonings = replies.map((r) => r.reasoning);
  const rows = await queryRows<{ id: string }>(
    db,
    Prisma.sql`UPDATE "public"."Message" AS m
           SET content = CASE WHEN v.at < 0 THEN v.text ELSE m.content || v.text END,
               reasoning = CASE WHEN v.at < 0 THEN v.reasoning WHEN v.reasoning IS NULL THEN m.reasoning
                                ELSE COALESCE(m.reasoning, '') || v.reasoning END,
               "lastSeq" = v.seq, "updatedAt" = ${new Date().toISOString()}::timestamp(3)
          FROM unnest(${ids}::uuid[], ${texts}::text[], ${ats}::int[], ${seqs}::int[], ${reasonings}::text[])
               AS v(id, text, at, seq, reasoning)
         WHERE m.id = v.id AND m.status = 'STREAMING' AND (v.at < 0 OR char_length(m.content) = v.at)
        RETURNING m.id::text AS id`,
  );
  return new Set(rows.map((r) => r.id));
}

/** A reply's final state, as stored when it ends. */
export type ReplyEnd = Pick<
  Message,
  | "content"
  | "reasoning"
  | "lastSeq"
  | "status"
  | "error"
  | "model"
  | "promptTokens"
  | "completionTokens"
  | "totalTokens"
>;

/**
 * Stores a reply's end and frees its conversation for the next send, in one statement (atomic like a
 * transaction but one round trip instead of four). Fenced on the status: a reply another instance already
 * failed keeps that end, and the conversation is freed only when this end was the one stored. Returns the
 * stored message, or null when it was not this call's end (deleted, or ended elsewhere).
 */
export async function endReply(
  db: Db,
  messageId: string,
  conversationId: string,
  end: ReplyEnd,
): Promise<Message | null> {
  const now = new Date().toISOString();
  const [message] = await queryRows<Message>(
    db,
    Prisma.sql`
      WITH ended AS (
        UPDATE "public"."Message" AS m
           SET content = ${end.content}, reasoning = ${end.reasoning}, "lastSeq" = ${end.lastSeq},
               status = ${end.status}::"public"."MessageStatus", error = ${end.error},
               model = ${end.model}, "promptTokens" = ${end.promptTokens},
               "completionTokens" = ${end.completionTokens},
               "totalTokens" = ${end.totalTokens}, "updatedAt" = ${now}::timestamp(3)
         WHERE m.id = ${messageId}::uuid AND m.status = 'STREAMING'
        RETURNING ${MESSAGE_COLUMNS}
      ),
      freed AS (
        UPDATE "public"."Conversation"
           SET "activeReplyId" = NULL, "updatedAt" = ${now}::timestamp(3)
         WHERE id = ${conversationId}::uuid AND "activeReplyId" = ${messageId}::uuid
           AND EXISTS (SELECT FROM ended)
      )
      SELECT * FROM ended`,
  );
  return message ?? null;
}

/** A reply's stored status, or null when it is gone. */
export async function replyStatus(db: Db, messageId: string): Promise<Message["status"] | null> {
  const saved = await db.message.findUnique({ where: { id: messageId }, select: { status: true } });
  return saved?.status ?? null;
}

/** A paused reply's state, as stored when it stops to wait for a decision on a tool call. */
export type ReplyPause = Pick<
  Message,
  "content" | "reasoning" | "lastSeq" | "model" | "promptTokens" | "completionTokens" | "totalTokens"
>;

/**
 * Stores that a reply waits for approval (`AWAITING_APPROVAL`) with its text and usage so far; the
 * conversation stays claimed by it. Fenced on the status like {@link endReply}; null when it was not ours.
 */
export async function pauseReply(db: Db, messageId: string, pause: ReplyPause): Promise<Message | null> {
  const [message] = await db.message.updateManyAndReturn({
    where: { id: messageId, status: "STREAMING" },
    data: { ...pause, status: "AWAITING_APPROVAL" },
  });
  return message ?? null;
}

/**
 * Claims a paused reply to resume it: `AWAITING_APPROVAL` becomes `STREAMING` (with a fresh heartbeat)
 * once none of its calls waits any more, or at once when `force` (to cancel it). One statement: of the
 * instances that try, exactly one wins. Returns whether this call claimed it.
 */
export async function claimPausedReply(db: Db, messageId: string, force = false): Promise<boolean> {
  const claimed = await db.$executeRaw`
    UPDATE "Message" SET status = 'STREAMING', "heartbeatAt" = now()
     WHERE id = ${messageId}::uuid AND status = 'AWAITING_APPROVAL'
       AND (${force} OR NOT EXISTS (
         SELECT FROM "ToolCall" WHERE "messageId" = ${messageId}::uuid AND status = 'AWAITING_APPROVAL'))`;
  return claimed > 0;
}

/** Paused replies none of whose calls waits any more (their resume was lost, e.g. to a crash). */
export async function decidedPausedReplies(db: Db): Promise<string[]> {
  const rows = await db.message.findMany({
    where: { status: "AWAITING_APPROVAL", toolCalls: { none: { status: "AWAITING_APPROVAL" } } },
    select: { id: true },
  });
  return rows.map((r) => r.id);
}
