-- CreateTable
CREATE TABLE "ToolServerAuth" (
    "ownerId" TEXT NOT NULL,
    "server" TEXT NOT NULL,
    "tokens" TEXT,
    "state" TEXT,
    "codeVerifier" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ToolServerAuth_pkey" PRIMARY KEY ("ownerId","server")
);

-- CreateTable
CREATE TABLE "ToolServerClient" (
    "server" TEXT NOT NULL,
    "information" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ToolServerClient_pkey" PRIMARY KEY ("server")
);

-- CreateIndex
CREATE UNIQUE INDEX "ToolServerAuth_state_key" ON "ToolServerAuth"("state");
