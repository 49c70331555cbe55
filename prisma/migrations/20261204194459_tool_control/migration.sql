-- CreateEnum
CREATE TYPE "ToolCallStatus" AS ENUM ('AWAITING_APPROVAL', 'RUNNING', 'COMPLETED', 'FAILED', 'DENIED', 'CANCELLED');

-- AlterEnum
ALTER TYPE "MessageStatus" ADD VALUE 'AWAITING_APPROVAL';

-- AlterTable
ALTER TABLE "Message" ADD COLUMN     "reasoning" TEXT;

-- AlterTable
ALTER TABLE "ToolCall" ADD COLUMN     "decidedAt" TIMESTAMP(3),
ADD COLUMN     "decision" TEXT,
ADD COLUMN     "status" "ToolCallStatus" NOT NULL DEFAULT 'RUNNING';

-- CreateTable
CREATE TABLE "ToolPermission" (
    "id" UUID NOT NULL,
    "ownerId" TEXT NOT NULL,
    "server" TEXT NOT NULL,
    "tool" TEXT NOT NULL,
    "conversationId" UUID,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ToolPermission_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ToolPermission_ownerId_server_tool_idx" ON "ToolPermission"("ownerId", "server", "tool");

-- CreateIndex
CREATE INDEX "ToolCall_startedAt_idx" ON "ToolCall"("startedAt") WHERE (status = 'AWAITING_APPROVAL');

-- AddForeignKey
ALTER TABLE "ToolPermission" ADD CONSTRAINT "ToolPermission_conversationId_fkey" FOREIGN KEY ("conversationId") REFERENCES "Conversation"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Backfill: calls stored before statuses existed
UPDATE "ToolCall" SET status = (CASE WHEN "completedAt" IS NULL THEN 'RUNNING' WHEN "isError" THEN 'FAILED' ELSE 'COMPLETED' END)::"ToolCallStatus";
