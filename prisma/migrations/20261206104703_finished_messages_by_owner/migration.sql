-- Finished messages only: the send's new reply (STREAMING) no longer writes an entry that its end replaces at once.
-- Both readers (search with nothing to rank, token quotas) read finished messages.
-- DropIndex
DROP INDEX "Message_ownerId_createdAt_idx";

-- CreateIndex
CREATE INDEX "Message_ownerId_createdAt_idx" ON "Message"("ownerId", "createdAt") WHERE (status <> 'STREAMING'::"MessageStatus");
