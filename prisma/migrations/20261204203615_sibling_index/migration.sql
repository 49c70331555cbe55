-- CreateIndex
CREATE INDEX "Message_conversationId_parentId_position_idx" ON "Message"("conversationId", "parentId", "position");
