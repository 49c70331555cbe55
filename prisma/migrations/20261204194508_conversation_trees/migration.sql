-- AlterEnum
ALTER TYPE "MessageStatus" ADD VALUE 'QUEUED';

-- AlterTable
ALTER TABLE "Conversation" ADD COLUMN     "activeLeafId" UUID,
ADD COLUMN     "pathLength" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "rootCount" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "Message" ADD COLUMN     "childCount" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "depth" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN     "onActivePath" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "parentId" UUID,
ADD COLUMN     "siblingIndex" INTEGER NOT NULL DEFAULT 0;

-- CreateIndex
CREATE UNIQUE INDEX "Conversation_activeLeafId_key" ON "Conversation"("activeLeafId");

-- CreateIndex
CREATE INDEX "Message_conversationId_onActivePath_depth_idx" ON "Message"("conversationId", "onActivePath", "depth");

-- CreateIndex
CREATE INDEX "Message_parentId_position_idx" ON "Message"("parentId", "position");

-- AddForeignKey
ALTER TABLE "Conversation" ADD CONSTRAINT "Conversation_activeLeafId_fkey" FOREIGN KEY ("activeLeafId") REFERENCES "Message"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Message" ADD CONSTRAINT "Message_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "Message"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Existing conversations become chains, nothing lost: each message's parent is the one before it (by
-- position), every message is on the active path, and the newest one is its conversation's active leaf.
WITH "chain" AS (
  SELECT id,
         lag(id) OVER w AS "parentId",
         row_number() OVER w AS "depth",
         lead(id) OVER w IS NOT NULL AS "hasChild"
    FROM "Message"
  WINDOW w AS (PARTITION BY "conversationId" ORDER BY "position")
)
UPDATE "Message" AS m
   SET "parentId" = "chain"."parentId", "depth" = "chain"."depth",
       "childCount" = CASE WHEN "chain"."hasChild" THEN 1 ELSE 0 END
  FROM "chain"
 WHERE m.id = "chain".id;

UPDATE "Conversation" AS c
   SET "activeLeafId" = "leaf".id, "pathLength" = "leaf"."depth", "rootCount" = 1
  FROM (SELECT DISTINCT ON ("conversationId") "conversationId", id, "depth"
          FROM "Message"
         ORDER BY "conversationId", "depth" DESC) AS "leaf"
 WHERE c.id = "leaf"."conversationId";
