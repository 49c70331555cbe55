import { newUuid } from "../core/ids.js";
import { type Db, queryRows } from "./client.js";
import { MESSAGE_COLUMNS, type Message } from "./columns.js";
import { Prisma } from "./generated/prisma/client.js";
import { flip, pathChange } from "./tree.js";
import { type TokenQuota, underQuota } from "./usage.js";

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
  /** An existing conversation (by id), or a new one with this title (made from the message: see `TitleSource`). */
  conversation: { id: string } | { title: string };
  /** Where the new messages hang; a new conversation's always start it. */
  placement?: Placement;
  /** The user's new message; null when the reply answers the message `placement` names (regenerate). */
  user: { content: string; clientMessageId: string | null } | null;
  /** The model asked for, stored on the placeholder. */
  model: string | null;
  /** The assistant placeholder's id, chosen before the statement so the send's limits can name it. */
  assistantId: string;
  /** Saves nothing when the owner's replies used this many tokens since then (a daily quota); null: none. */
  tokenQuota: TokenQuota | null;
}

/**
 * Saves a send in one statement (atomic, one round trip, no transaction): the user's message (unless the
 * reply answers an earlier one) and the assistant's placeholder, hung under `placement`, made the new active
 * path. A new conversation is inserted with them; an existing one is claimed first by a conditional update
 * that takes its row lock: one running reply per conversation across every instance, positions allocated
 * without gaps or races, and the tree changed only when nothing else changed its active path meanwhile.
 * Returns the new messages in position order, or none when the owner's token quota is used up or the existing
 * conversation could not be claimed (missing, someone else's, busy, or the parent is not one of its messages:
 * the caller tells which). A `clientMessageId` the user already used fails with a unique violation.
 */
export function insertExchange(db: Db, input: ExchangeInput): Promise<Message[]> {
  const { ownerId, assistantId, user } = input;
  const now = Prisma.sql`${new Date().toISOString()}::timestamp(3)`;
  const userId = newUuid();
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
  const quota = underQuota(ownerId, input.tokenQuota);
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
        RETURNING ${MESSAGE_COLUMNS}`;
  if ("title" in input.conversation) {
    return queryRows<Message>(
      db,
      Prisma.sql`
      WITH c AS (
        INSERT INTO "public"."Conversation"
               (id, "ownerId", title, "createdAt", "updatedAt", "activityAt", "messageCount", "activeReplyId",
                "activeLeafId", "pathLength", "rootCount", "titleSource")
        SELECT ${newUuid()}::uuid, ${ownerId}, ${input.conversation.title}, ${now}, ${now}, ${now},
               ${added}, ${assistantId}::uuid, ${assistantId}::uuid, ${added}, 1, 'MESSAGE'::"public"."TitleSource"
         WHERE ${quota}
        RETURNING id, "messageCount"
      ),
      base AS (SELECT NULL::uuid AS "parentId", 0 AS depth, 0 AS "siblingIndex"),
      saved AS (${insert})
      SELECT * FROM saved ORDER BY position`,
    );
  }
  const conversationId = input.conversation.id;
  const placement = input.placement ?? { kind: "leaf" };
  const parentId = placement.kind === "under" ? placement.parentId : null;
  return queryRows<Message>(
    db,
    Prisma.sql`
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
         WHERE cv.id = conv.id AND cv."activeReplyId" IS NULL AND ${quota}
           AND cv."activeLeafId" IS NOT DISTINCT FROM conv."activeLeafId"
           -- Queued messages are answered first (see claimQueued).
           AND NOT EXISTS (
                 SELECT FROM "public"."Message" q WHERE q."conversationId" = conv.id AND q.status = 'QUEUED')
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
      SELECT * FROM saved ORDER BY position`,
  );
}

/**
 * The reply an earlier send of this user with this `clientMessageId` created, in whichever conversation: the
 * first assistant reply to that user message (the one saved with it, or for a queued message the one started
 * on its turn). Null when there was no such send; `{ replyId: null }` while the message waits in a queue.
 */
export async function earlierReplyId(
  db: Db,
  ownerId: string,
  clientMessageId: string,
): Promise<{ replyId: string | null } | null> {
  const user = await db.message.findUnique({
    where: { ownerId_clientMessageId: { ownerId, clientMessageId } },
    select: { id: true },
  });
  if (!user) return null;
  const reply = await db.message.findFirst({
    where: { parentId: user.id, role: "ASSISTANT" },
    orderBy: { position: "asc" },
    select: { id: true },
  });
  return { replyId: reply?.id ?? null };
}

/**
 * `onBusy: ENQUEUE`: saves the user's message as `QUEUED` after the active leaf while a reply runs (or other
 * messages wait), in one statement; it becomes the active leaf. Below another queued message it sits two
 * levels down, leaving the level between for that message's reply (see {@link claimQueued}): the path's
 * length (its messages, the `messages` connection's total) then grows by one, not by the depth. Returns the
 * saved message, or null when the conversation is missing, someone else's, idle with nothing queued, or its
 * active path moved meanwhile.
 */
export async function insertQueued(
  db: Db,
  input: {
    ownerId: string;
    conversationId: string;
    content: string;
    clientMessageId: string | null;
    model: string | null;
  },
): Promise<Message | null> {
  const now = Prisma.sql`${new Date().toISOString()}::timestamp(3)`;
  const [saved] = await db.$queryRaw<Message[]>`
      WITH conv AS (
        SELECT id, "activeLeafId" FROM "public"."Conversation"
         WHERE id = ${input.conversationId}::uuid AND "ownerId" = ${input.ownerId}
      ),
      leaf AS (
        SELECT m.id, m."childCount",
               m.depth + CASE WHEN m.status = 'QUEUED' THEN 2 ELSE 1 END AS "nextDepth"
          FROM "public"."Message" m, conv WHERE m.id = conv."activeLeafId"
      ),
      c AS (
        UPDATE "public"."Conversation" AS cv
           SET "messageCount" = cv."messageCount" + 1, "activityAt" = ${now}, "updatedAt" = ${now},
               "activeLeafId" = ${newUuid()}::uuid, "pathLength" = cv."pathLength" + 1
          FROM conv, leaf
         WHERE cv.id = conv.id AND cv."activeLeafId" IS NOT DISTINCT FROM conv."activeLeafId"
           AND (cv."activeReplyId" IS NOT NULL OR EXISTS (
                 SELECT FROM "public"."Message" q WHERE q."conversationId" = conv.id AND q.status = 'QUEUED'))
        RETURNING cv.id, cv."messageCount", cv."activeLeafId"
      ),
      parent AS (
        UPDATE "public"."Message" SET "childCount" = "childCount" + 1
         WHERE id = (SELECT id FROM leaf) AND EXISTS (SELECT FROM c)
      ),
      saved AS (
        INSERT INTO "public"."Message" AS m
               (id, "conversationId", "ownerId", position, "parentId", depth, "siblingIndex", "childCount",
                "onActivePath", role, content, status, model, "clientMessageId", "createdAt", "updatedAt")
        SELECT c."activeLeafId", c.id, ${input.ownerId}, c."messageCount", leaf.id, leaf."nextDepth",
               leaf."childCount", 0, true, 'USER', ${input.content}, 'QUEUED', ${input.model},
               ${input.clientMessageId}, ${now}, ${now}
          FROM c, leaf
        RETURNING ${MESSAGE_COLUMNS}
      )
      SELECT * FROM saved`;
  return saved ?? null;
}

/**
 * Starts the answer of a conversation's oldest queued message, in one statement: the conversation is
 * claimed for `assistantId` only when no reply runs; then the queued message is marked sent, the reply's
 * placeholder saved as its child (on the level left free for it), and the next queued message moved under
 * the reply. Returns the placeholder (its `parentId` is the message it answers), or null when a reply runs
 * or nothing is queued.
 */
export async function claimQueued(
  db: Db,
  conversationId: string,
  assistantId: string,
): Promise<Message | null> {
  const now = Prisma.sql`${new Date().toISOString()}::timestamp(3)`;
  const [saved] = await db.$queryRaw<Message[]>`
      WITH q AS (
        SELECT id, "conversationId", "ownerId", depth, "onActivePath", model FROM "public"."Message"
         WHERE "conversationId" = ${conversationId}::uuid AND status = 'QUEUED'
         ORDER BY position LIMIT 1
      ),
      nxt AS (
        SELECT id FROM "public"."Message" WHERE "parentId" = (SELECT id FROM q) AND status = 'QUEUED'
      ),
      c AS (
        UPDATE "public"."Conversation" AS cv
           SET "activeReplyId" = ${assistantId}::uuid, "messageCount" = cv."messageCount" + 1,
               "activityAt" = ${now}, "updatedAt" = ${now},
               "activeLeafId" = CASE WHEN cv."activeLeafId" = q.id THEN ${assistantId}::uuid ELSE cv."activeLeafId" END,
               "pathLength" = cv."pathLength" + CASE WHEN q."onActivePath" THEN 1 ELSE 0 END
          FROM q
         WHERE cv.id = q."conversationId" AND cv."activeReplyId" IS NULL
        RETURNING cv.id, cv."messageCount"
      ),
      sent AS (
        UPDATE "public"."Message" SET status = 'COMPLETE', "childCount" = 1, "updatedAt" = ${now}
         WHERE id = (SELECT id FROM q) AND EXISTS (SELECT FROM c)
      ),
      moved AS (
        UPDATE "public"."Message" SET "parentId" = ${assistantId}::uuid
         WHERE id IN (SELECT id FROM nxt) AND EXISTS (SELECT FROM c)
      ),
      saved AS (
        INSERT INTO "public"."Message" AS m
               (id, "conversationId", "ownerId", position, "parentId", depth, "siblingIndex", "childCount",
                "onActivePath", role, content, status, model, "createdAt", "updatedAt")
        SELECT ${assistantId}::uuid, c.id, q."ownerId", c."messageCount", q.id, q.depth + 1, 0,
               (SELECT count(*) FROM nxt)::int, q."onActivePath", 'ASSISTANT', '', 'STREAMING', q.model,
               ${now}, ${now}
          FROM c, q
        RETURNING ${MESSAGE_COLUMNS}
      )
      SELECT * FROM saved`;
  return saved ?? null;
}

/**
 * A queued message's state: whether it still waits, its conversation and the reply running there, and once
 * answered, its reply (the first assistant child). Null when the message is gone.
 */
export async function queuedState(db: Db, queuedId: string) {
  const row = await db.message.findUnique({
    where: { id: queuedId },
    select: {
      status: true,
      conversationId: true,
      conversation: { select: { activeReplyId: true } },
      children: { where: { role: "ASSISTANT" }, orderBy: { position: "asc" }, take: 1, select: { id: true } },
    },
  });
  return (
    row && {
      queued: row.status === "QUEUED",
      conversationId: row.conversationId,
      activeReplyId: row.conversation.activeReplyId,
      replyId: row.children[0]?.id ?? null,
    }
  );
}

/**
 * The newest `QUEUED` message of each conversation that has one: a waiter for it moves that whole queue on
 * (see answerWhenFree), so these are what to wait for when a queue's waiters are gone (a restart, or the
 * instance that held them died).
 */
export async function newestQueuedMessages(db: Db): Promise<string[]> {
  const rows = await db.$queryRaw<{ id: string }[]>`
      SELECT DISTINCT ON ("conversationId") id::text AS id FROM "public"."Message"
       WHERE status = 'QUEUED' ORDER BY "conversationId", position DESC`;
  return rows.map((r) => r.id);
}
