-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- AlterTable
ALTER TABLE "Conversation" ADD COLUMN     "searchVector" tsvector;

-- AlterTable
ALTER TABLE "Message" ADD COLUMN     "searchVector" tsvector;

-- CreateIndex
CREATE INDEX "Conversation_searchVector_idx" ON "Conversation" USING GIN ("searchVector");

-- CreateIndex
CREATE INDEX "Message_searchVector_idx" ON "Message" USING GIN ("searchVector");

-- CreateIndex
CREATE INDEX "Message_content_idx" ON "Message" USING GIN ("content" gin_trgm_ops);

-- ---------------------------------------------------------------------------------------------------------
-- Hand-written below: the search vectors become STORED generated columns.
-- Prisma cannot express generated columns (https://github.com/prisma/prisma/issues/6336). schema.prisma
-- declares both columns as `Unsupported("tsvector")? @default(dbgenerated())`, a default without an
-- expression, which the schema engine never migrates: it accepts the generation expression below and the
-- diff from the migrated database to schema.prisma stays empty (test/integration/migrations.test.ts).
-- PostgreSQL cannot turn an existing column into a generated one, so the plain columns added above are
-- replaced. That drops their GIN indexes, created again here with the same names and definitions.
-- 'english' is the default SEARCH_LANGUAGE. src/search/language.ts rebuilds these columns with the same
-- statements when the setting names another text-search configuration.
-- (No semicolons in these comments: the schema engine splits the script on them.)
-- ---------------------------------------------------------------------------------------------------------
ALTER TABLE "Conversation" DROP COLUMN "searchVector";
ALTER TABLE "Conversation" ADD COLUMN "searchVector" tsvector
    GENERATED ALWAYS AS (setweight(to_tsvector('english'::regconfig, "title"), 'A')) STORED;
CREATE INDEX "Conversation_searchVector_idx" ON "Conversation" USING GIN ("searchVector");

ALTER TABLE "Message" DROP COLUMN "searchVector";
ALTER TABLE "Message" ADD COLUMN "searchVector" tsvector
    GENERATED ALWAYS AS (to_tsvector('english'::regconfig, "content")) STORED;
CREATE INDEX "Message_searchVector_idx" ON "Message" USING GIN ("searchVector");
