import { randomUUID } from "node:crypto";
import type { Db } from "./client.js";
import { messageColumns } from "./columns.js";
import { type Message, Prisma } from "./generated/prisma/client.js";

/** What one send saves: the user's message and the reply's placeholder, in a new or an existing conversation. */
export interface ExchangeInput {
  ownerId: string;
  /** An existing conversation (by id), or a new one with this title. */
  conversation: { id: string } | { title: string };
  content: string;
  clientMessageId: string | null;
  /** The model asked for, stored on the placeholder. */
  model: string | null;
  /** The assistant placeholder's id, chosen before the statement so the send's limits can name it. */
  assistantId: string;
}

/**
 * Saves the user's message and the assistant's placeholder in one statement (atomic, one round trip): a new
 * conversation is inserted with them; an existing one is claimed first, by a conditional update that takes
 * its row lock: one running reply per conversation, across every instance, and positions allocated without
 * gaps or races. Returns the two messages in position order, or none when the existing conversation could
 * not be claimed (missing, someone else's, or busy: the caller tells which). A `clientMessageId` already
 * used in the conversation fails with a unique violation.
 */
export function insertExchange(db: Db, input: ExchangeInput): Promise<Message[]> {
  const { ownerId, assistantId } = input;
  const now = Prisma.sql`${new Date().toISOString()}::timestamp(3)`;
  const claim =
    "title" in input.conversation
      ? Prisma.sql`INSERT INTO "public"."Conversation"
                     (id, "ownerId", title, "createdAt", "updatedAt", "activityAt", "messageCount", "activeReplyId")
                   VALUES (${randomUUID()}::uuid, ${ownerId},
                           ${input.conversation.title},
                           ${now}, ${now}, ${now}, 2, ${assistantId}::uuid)
                   RETURNING id, "messageCount"`
      : Prisma.sql`UPDATE "public"."Conversation"
                      SET "messageCount" = "messageCount" + 2, "activityAt" = ${now}, "updatedAt" = ${now},
                          "activeReplyId" = ${assistantId}::uuid
                    WHERE id = ${input.conversation.id}::uuid AND "ownerId" = ${ownerId} AND "activeReplyId" IS NULL
                    RETURNING id, "messageCount"`;
  return db.$queryRaw<Message[]>`
      WITH c AS (${claim}),
      saved AS (
        INSERT INTO "public"."Message" AS m
               (id, "conversationId", "ownerId", position, role, content, status, model, "clientMessageId",
                "createdAt", "updatedAt")
        SELECT v.id, c.id, ${ownerId}, c."messageCount" + v.shift, v.role::"public"."MessageRole", v.content,
               v.status::"public"."MessageStatus", v.model, v.key, ${now}, ${now}
          FROM c, (VALUES (${randomUUID()}::uuid, -1, 'USER', ${input.content}::text, 'COMPLETE', NULL::text,
                           ${input.clientMessageId}::text),
                          (${assistantId}::uuid, 0, 'ASSISTANT', '', 'STREAMING', ${input.model}::text,
                           NULL::text))
                  AS v(id, shift, role, content, status, model, key)
        RETURNING ${messageColumns("m")}
      )
      SELECT * FROM saved ORDER BY position`;
}

/**
 * The reply an earlier send of this user with this `clientMessageId` created, in whichever conversation
 * (its assistant message id, the position after the user's message), or null when there was none.
 */
export async function earlierReplyId(
  db: Db,
  ownerId: string,
  clientMessageId: string,
): Promise<string | null> {
  const user = await db.message.findUnique({
    where: { ownerId_clientMessageId: { ownerId, clientMessageId } },
    select: { conversationId: true, position: true },
  });
  if (!user) return null;
  const reply = await db.message.findUniqueOrThrow({
    where: { conversationId_position: { conversationId: user.conversationId, position: user.position + 1 } },
    select: { id: true },
  });
  return reply.id;
}
