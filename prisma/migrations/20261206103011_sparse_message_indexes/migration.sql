-- Partial indexes, each holding only the rows it is read for: a conversation's first messages, idempotency
-- keys that were given, messages in a status the sweeps and queues look for. A send's two new rows and a
-- reply's end (never a HOT update: it changes the status) each wrote an entry in every one of them before.
-- DropIndex
DROP INDEX "Message_conversationId_parentId_position_idx";

-- DropIndex
DROP INDEX "Message_ownerId_clientMessageId_key";

-- DropIndex
DROP INDEX "Message_status_idx";

-- CreateIndex
CREATE INDEX "Message_roots_idx" ON "Message"("conversationId", "position") WHERE ("parentId" IS NULL);

-- CreateIndex
CREATE INDEX "Message_status_idx" ON "Message"("status") WHERE (status = ANY (ARRAY['QUEUED'::"MessageStatus", 'STREAMING'::"MessageStatus", 'AWAITING_APPROVAL'::"MessageStatus"]));

-- CreateIndex
CREATE UNIQUE INDEX "Message_ownerId_clientMessageId_key" ON "Message"("ownerId", "clientMessageId") WHERE ("clientMessageId" IS NOT NULL);
