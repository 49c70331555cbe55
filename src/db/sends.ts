import { randomUUID } from "node:crypto";
import type { Db } from "./client.js";
import { messageColumns } from "./columns.js";
import { type Message, Prisma } from "./generated/prisma/client.js";
import { flip, pathChange } from "./tree.js";

/** Where a send's new message goes in the conversation's tree. */
export type Placement =
  /** After the active leaf (a plain send; a new conversation's first message). */
  | { kind: "leaf" }
  /** Under this message of the conversation: a new branch unless it is the active leaf. */
  | { kind: "under"; parentId: string }
  /** A new first message: a version of the conversation's opening message. */
  | { kind: "root" };

/** What one send saves: the user's message (unless it answers one) and the reply's placeholder. */
export interface ExchangeInput {
  ownerId: string;
  /** An existing conversation (by id), or a new one with this title. */
  conversation: { id: string } | { title: string };
  /** Where the new messages hang; a new conversation's always start it. */
  placement?: Placement;
  /** The user's new message; null when the reply answers the message `placement` names (regenerate). */
  user: { content: string; clientMessageId: string | null } | null;
  /** The model asked for, stored on the placeholder. */
  model: string | null;
  /** The assistant placeholder's id, chosen before the statement so the send's limits can name it. */
  assistantId: string;
}

/**
 * Saves a send in one statement (atomic, one round trip, no transaction): the user's message (unless the
 * reply answers an earlier one) and the assistant's placeholder, hung under `placement`, made the new active
 * path. A new conversation is inserted with them; an existing one is claimed first by a conditional update
 * that takes its row lock: one running reply per conversation across every instance, positions allocated
 * without gaps or races, and the tree changed only when nothing else changed its active path meanwhile.
 * Returns the new messages in position order, or none when the existing conversation could not be claimed
 * (missing, someone else's, busy, or the parent is not one of its messages: the caller tells which). A
 * `clientMessageId` the user already used fails with a unique violation.
 */
export function insertExchange(db: Db, input: ExchangeInput): Promise<Message[]> {
  const { ownerId, assistantId, user } = input;
  const now = Prisma.sql`${new Date().toISOString()}::timestamp(3)`;
  const userId = randomUUID();
  // Foreign keys (conversation, parent, active leaf) are checked at the statement's end, when every row is in.
  // The new rows: `level` is the depth below the parent (and the position after the conversation's last).
  const rows = [
    ...(user
      ? [
          Prisma.sql`(${userId}::uuid, 1, NULL::uuid, 'USER', ${user.content}::text, 'COMPLETE', NULL::text,
                     ${user.clientMessageId}::text)`,
        ]
      : []),
    Prisma.sql`(${assistantId}::uuid, ${user ? 2 : 1}::int, ${user ? userId : null}::uuid, 'ASSISTANT', '',
                'STREAMING', ${input.model}::text, NULL::text)`,
  ];
  const added = rows.length;
  const values = Prisma.sql`(VALUES ${Prisma.join(rows)}) AS v(id, level, parent, role, content, status, model, key)`;
  const insert = Prisma.sql`INSERT INTO "public"."Message" AS m
               (id, "conversationId", "ownerId", position, "parentId", depth, "siblingIndex", "childCount",
                "onActivePath", role, content, status, model, "clientMessageId", "createdAt", "updatedAt")
        SELECT v.id, c.id, ${ownerId}, c."messageCount" - ${added} + v.level,
               COALESCE(v.parent, base."parentId"), base.depth + v.level,
               CASE WHEN v.level = 1 THEN base."siblingIndex" ELSE 0 END,
               CASE WHEN v.level < ${added} THEN 1 ELSE 0 END, true,
               v.role::"public"."MessageRole", v.content, v.status::"public"."MessageStatus", v.model, v.key,
               ${now}, ${now}
          FROM c, base, ${values}
        RETURNING ${messageColumns("m")}`;
  if ("title" in input.conversation) {
    return db.$queryRaw<Message[]>`
      WITH c AS (
        INSERT INTO "public"."Conversation"
               (id, "ownerId", title, "createdAt", "updatedAt", "activityAt", "messageCount", "activeReplyId",
                "activeLeafId", "pathLength", "rootCount")
        VALUES (${randomUUID()}::uuid, ${ownerId}, ${input.conversation.title}, ${now}, ${now}, ${now},
                ${added}, ${assistantId}::uuid, ${assistantId}::uuid, ${added}, 1)
        RETURNING id, "messageCount"
      ),
      base AS (SELECT NULL::uuid AS "parentId", 0 AS depth, 0 AS "siblingIndex"),
      saved AS (${insert})
      SELECT * FROM saved ORDER BY position`;
  }
  const conversationId = input.conversation.id;
  const placement = input.placement ?? { kind: "leaf" };
  const parentId = placement.kind === "under" ? placement.parentId : null;
  return db.$queryRaw<Message[]>`
      WITH RECURSIVE conv AS (
        SELECT id, "activeLeafId", "rootCount" FROM "public"."Conversation"
         WHERE id = ${conversationId}::uuid AND "ownerId" = ${ownerId}
      ),
      p AS (
        SELECT m.id, m."parentId", m.depth, m."childCount", m."onActivePath"
          FROM "public"."Message" m, conv
         WHERE m."conversationId" = conv.id
           AND m.id = ${placement.kind === "leaf" ? Prisma.sql`conv."activeLeafId"` : Prisma.sql`${parentId}::uuid`}
      ),
      ${pathChange}
      base AS (
        SELECT (SELECT id FROM p) AS "parentId", COALESCE((SELECT depth FROM p), 0) AS depth,
               COALESCE((SELECT "childCount" FROM p), (SELECT "rootCount" FROM conv)) AS "siblingIndex"
      ),
      c AS (
        UPDATE "public"."Conversation" AS cv
           SET "messageCount" = cv."messageCount" + ${added}, "activityAt" = ${now}, "updatedAt" = ${now},
               "activeReplyId" = ${assistantId}::uuid, "activeLeafId" = ${assistantId}::uuid,
               "pathLength" = base.depth + ${added},
               "rootCount" = cv."rootCount" + CASE WHEN base."parentId" IS NULL THEN 1 ELSE 0 END
          FROM conv, base
         WHERE cv.id = conv.id AND cv."activeReplyId" IS NULL
           AND cv."activeLeafId" IS NOT DISTINCT FROM conv."activeLeafId"
           AND ${
             placement.kind === "under"
               ? Prisma.sql`EXISTS (SELECT FROM p)`
               : placement.kind === "leaf"
                 ? Prisma.sql`(conv."activeLeafId" IS NULL OR EXISTS (SELECT FROM p))`
                 : Prisma.sql`true`
           }
        RETURNING cv.id, cv."messageCount"
      ),
      ${flip(Prisma.sql`(SELECT id FROM p)`)},
      saved AS (${insert})
      SELECT * FROM saved ORDER BY position`;
}

/**
 * The reply an earlier send of this user with this `clientMessageId` created, in whichever conversation
 * (its assistant message: the user message's child saved with it, one position later), or null when there
 * was none.
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
