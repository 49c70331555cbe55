-- AlterTable
ALTER TABLE "Message" ADD COLUMN     "heartbeatAt" TIMESTAMPTZ(3) NOT NULL DEFAULT now();
