-- DropIndex
DROP INDEX "Message_conversationId_clientMessageId_key";

-- CreateIndex
CREATE UNIQUE INDEX "Message_ownerId_clientMessageId_key" ON "Message"("ownerId", "clientMessageId");
