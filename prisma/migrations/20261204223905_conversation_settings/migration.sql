-- Existing conversations count as named by their users: a generated title never replaces their titles.
-- CreateEnum
CREATE TYPE "TitleSource" AS ENUM ('DEFAULT', 'MESSAGE', 'MODEL', 'USER');

-- AlterTable
ALTER TABLE "Conversation" ADD COLUMN     "model" TEXT,
ADD COLUMN     "systemPrompt" TEXT,
ADD COLUMN     "temperature" DOUBLE PRECISION,
ADD COLUMN     "titleSource" "TitleSource" NOT NULL DEFAULT 'USER';
