-- CreateEnum
CREATE TYPE "FeedbackRating" AS ENUM ('UP', 'DOWN');

-- AlterTable
ALTER TABLE "Conversation" ADD COLUMN     "pinned" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "pinnedAt" TIMESTAMP(3),
ADD COLUMN     "tags" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- CreateTable
CREATE TABLE "MessageFeedback" (
    "messageId" UUID NOT NULL,
    "ownerId" TEXT NOT NULL,
    "rating" "FeedbackRating" NOT NULL,
    "comment" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "MessageFeedback_pkey" PRIMARY KEY ("messageId")
);

-- CreateIndex
CREATE INDEX "MessageFeedback_ownerId_rating_idx" ON "MessageFeedback"("ownerId", "rating");

-- CreateIndex
CREATE INDEX "Conversation_ownerId_pinned_pinnedAt_activityAt_id_idx" ON "Conversation"("ownerId", "pinned" DESC, "pinnedAt" DESC, "activityAt" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "Conversation_tags_idx" ON "Conversation" USING GIN ("tags");

-- AddForeignKey
ALTER TABLE "MessageFeedback" ADD CONSTRAINT "MessageFeedback_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "Message"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Written by hand (Prisma does not declare CHECK constraints): `pinned` and `pinnedAt` say the same thing.
ALTER TABLE "Conversation" ADD CONSTRAINT "Conversation_pinned_check" CHECK ("pinned" = ("pinnedAt" IS NOT NULL));
