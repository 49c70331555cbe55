import { newUuid } from "../core/ids.js";
import type { Db } from "./client.js";
import { Prisma } from "./generated/prisma/client.js";

// The shape of a conversation's tree: which path is active, and copies of a path. A message's parent,
// depth and sibling index never change; the active path is the messages flagged `onActivePath`, root ..
// the conversation's `activeLeafId`, changed by one statement at a time.

/**
 * The CTEs `up` and `keep` of a statement that makes a path through `p` (or a new root, when `p` is empty)
 * the active one: `up` walks from `p` to the first ancestor already on the active path (`p` itself when it
 * is), `keep` is that ancestor's depth (0 when none is): the active path stays as it is down to there.
 */
export const pathChange = Prisma.sql`
      up AS (
        SELECT id, "parentId", depth, "onActivePath" FROM p
        UNION ALL
        SELECT m.id, m."parentId", m.depth, m."onActivePath"
          FROM "public"."Message" m JOIN up ON m.id = up."parentId"
         WHERE NOT up."onActivePath"
      ),
      keep AS (SELECT COALESCE((SELECT depth FROM up WHERE "onActivePath"), 0) AS depth),`;

/**
 * The CTE `flip`: once `c` claimed the conversation, one update of its messages moves the active path to
 * `up` (off-path ancestors join it, the old path below `keep` leaves it) and counts a new child of `counted`
 * (none when null). One update per row: two CTEs updating the same row would lose one of the changes.
 */
export function flip(counted: Prisma.Sql) {
  return Prisma.sql`flip AS (
        UPDATE "public"."Message" AS f
           SET "onActivePath" = CASE
                 WHEN f.id IN (SELECT id FROM up WHERE NOT "onActivePath") THEN true
                 WHEN f."onActivePath" AND f.depth > keep.depth THEN false
                 ELSE f."onActivePath" END,
               "childCount" = f."childCount" + CASE WHEN f.id IS NOT DISTINCT FROM ${counted} THEN 1 ELSE 0 END
          FROM keep
         WHERE f."conversationId" = (SELECT id FROM c)
           AND (f.id IN (SELECT id FROM up) OR (f."onActivePath" AND f.depth > keep.depth))
      )`;
}

/**
 * `switchBranch`: makes the path from the root through `messageId` to the newest leaf below it (the most
 * recently saved message of its subtree without children) the conversation's active path, in one statement.
 * Conditional on nothing else moving the active path meanwhile. Returns the new active leaf's id, or null
 * when the message is not the owner's or the path moved concurrently.
 */
export async function switchToBranch(db: Db, ownerId: string, messageId: string): Promise<string | null> {
  const rows = await db.$queryRaw<{ id: string }[]>`
      WITH RECURSIVE start AS (
        SELECT m.id, m."conversationId" FROM "public"."Message" m
         WHERE m.id = ${messageId}::uuid AND m."ownerId" = ${ownerId}
      ),
      down AS (
        SELECT m.id, m.position, m."childCount" FROM "public"."Message" m JOIN start ON m.id = start.id
        UNION ALL
        SELECT m.id, m.position, m."childCount" FROM "public"."Message" m JOIN down ON m."parentId" = down.id
      ),
      conv AS (
        SELECT cv.id, cv."activeLeafId" FROM "public"."Conversation" cv JOIN start ON cv.id = start."conversationId"
      ),
      p AS (
        SELECT m.id, m."parentId", m.depth, m."onActivePath" FROM "public"."Message" m
         WHERE m.id = (SELECT id FROM down WHERE "childCount" = 0 ORDER BY position DESC LIMIT 1)
      ),
      ${pathChange}
      c AS (
        UPDATE "public"."Conversation" AS cv
           -- The path's messages: those kept, and those of up that join it. Not the leaf's depth: queued
           -- messages leave levels free for their replies (see insertQueued).
           SET "activeLeafId" = p.id,
               "pathLength" = cv."pathLength" + (SELECT count(*) FROM up WHERE NOT "onActivePath")::int
                 - (SELECT count(*) FROM "public"."Message" o, keep
                     WHERE o."conversationId" = conv.id AND o."onActivePath" AND o.depth > keep.depth)::int
          FROM p, conv
         WHERE cv.id = conv.id AND cv."activeLeafId" IS NOT DISTINCT FROM conv."activeLeafId"
        RETURNING cv.id, p.id AS leaf
      ),
      ${flip(Prisma.sql`NULL::uuid`)}
      SELECT leaf::text AS id FROM c`;
  return rows[0]?.id ?? null;
}

/**
 * `forkConversation`: a new conversation of the owner's holding a copy of the path root .. `messageId`
 * (content, statuses, usage, tool calls, attachments), all of it its active path, in one statement. A reply still being
 * written is copied as it stands, CANCELLED; a queued message as sent. Returns the new conversation's id,
 * or null when the message is not the owner's.
 */
export async function forkPath(
  db: Db,
  ownerId: string,
  messageId: string,
  title: string | null,
): Promise<string | null> {
  const now = Prisma.sql`${new Date().toISOString()}::timestamp(3)`;
  const rows = await db.$queryRaw<{ id: string }[]>`
      WITH RECURSIVE up AS (
        SELECT m.id, m."parentId", m."conversationId", m.depth FROM "public"."Message" m
         WHERE m.id = ${messageId}::uuid AND m."ownerId" = ${ownerId}
        UNION ALL
        SELECT m.id, m."parentId", m."conversationId", m.depth
          FROM "public"."Message" m JOIN up ON m.id = up."parentId"
      ),
      ids AS MATERIALIZED (SELECT id AS old, gen_random_uuid() AS new, "parentId" AS "oldParent", depth FROM up),
      conv AS (
        INSERT INTO "public"."Conversation"
               (id, "ownerId", title, "createdAt", "updatedAt", "activityAt", "messageCount", "activeLeafId",
                "pathLength", "rootCount", model, "systemPrompt", temperature)
        SELECT ${newUuid()}::uuid, ${ownerId}, COALESCE(${title}::text, o.title), ${now}, ${now}, ${now},
               (SELECT count(*) FROM ids), (SELECT new FROM ids WHERE old = ${messageId}::uuid),
               (SELECT max(depth) FROM ids), 1, o.model, o."systemPrompt", o.temperature
          FROM "public"."Conversation" o
         WHERE o.id = (SELECT "conversationId" FROM up LIMIT 1)
        RETURNING id
      ),
      copied AS (
        INSERT INTO "public"."Message"
               (id, "conversationId", "ownerId", position, "parentId", depth, "siblingIndex", "childCount",
                "onActivePath", role, content, status, error, model, "promptTokens", "completionTokens",
                "totalTokens", "lastSeq", "createdAt", "updatedAt")
        SELECT ids.new, conv.id, ${ownerId}, ids.depth, parent.new, ids.depth, 0,
               CASE WHEN ids.old = ${messageId}::uuid THEN 0 ELSE 1 END, true, m.role, m.content,
               CASE m.status WHEN 'STREAMING' THEN 'CANCELLED'::"public"."MessageStatus"
                             WHEN 'QUEUED' THEN 'COMPLETE'::"public"."MessageStatus" ELSE m.status END,
               m.error, m.model, m."promptTokens", m."completionTokens", m."totalTokens", m."lastSeq",
               m."createdAt", ${now}
          FROM ids JOIN "public"."Message" m ON m.id = ids.old
          LEFT JOIN ids parent ON parent.old = ids."oldParent", conv
        RETURNING id
      ),
      calls AS (
        INSERT INTO "public"."ToolCall"
               (id, "messageId", position, round, "textOffset", "callId", server, name, arguments, result,
                "isError", "startedAt", "completedAt")
        SELECT gen_random_uuid(), ids.new, t.position, t.round, t."textOffset", t."callId", t.server, t.name,
               t.arguments, t.result, t."isError", t."startedAt", t."completedAt"
          FROM "public"."ToolCall" t JOIN ids ON t."messageId" = ids.old
         WHERE EXISTS (SELECT FROM conv)
      ),
      links AS (
        INSERT INTO "public"."MessageAttachment" ("messageId", "attachmentId", position)
        SELECT ids.new, a."attachmentId", a.position
          FROM "public"."MessageAttachment" a JOIN ids ON a."messageId" = ids.old
         WHERE EXISTS (SELECT FROM conv)
      )
      SELECT id::text AS id FROM conv`;
  return rows[0]?.id ?? null;
}
