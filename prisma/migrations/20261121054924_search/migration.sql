-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- AlterTable
ALTER TABLE "Conversation" ADD COLUMN     "searchVector" tsvector;

-- AlterTable
ALTER TABLE "Message" ADD COLUMN     "searchVector" tsvector;

-- CreateIndex
CREATE INDEX "Conversation_searchVector_idx" ON "Conversation" USING GIN ("searchVector");

-- CreateIndex
CREATE INDEX "Message_searchVector_content_idx" ON "Message" USING GIN ("searchVector", "content" gin_trgm_ops) WHERE (status <> 'STREAMING');

-- ---------------------------------------------------------------------------------------------------------
-- Hand-written below: the search vectors become STORED generated columns.
-- Prisma cannot express generated columns (https://github.com/prisma/prisma/issues/6336). schema.prisma
-- declares both columns as `Unsupported("tsvector")? @default(dbgenerated())`, a default without an
-- expression, which the schema engine never migrates: it accepts the generation expression below and the
-- diff from the migrated database to schema.prisma stays empty (test/integration/migrations.test.ts).
-- PostgreSQL cannot turn an existing column into a generated one, so the plain columns added above are
-- replaced. That drops their GIN indexes, created again here with the same names and definitions.
-- A message's vector also holds its owner's mark, md5("ownerId") as a lexeme: every search is within one
-- user's messages, and with the mark in the index PostgreSQL intersects that user's postings with the
-- query's instead of reading every user's (the "ownerId" filter stays, so correctness never depends on it).
-- A reply is indexed once, when it stops streaming: while STREAMING its vector is NULL and the partial index
-- leaves it out, so the text flushed every few hundred milliseconds costs no tsvector and no GIN entries.
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
    GENERATED ALWAYS AS (CASE WHEN "status" = 'STREAMING' THEN NULL
        ELSE to_tsvector('english'::regconfig, "content") || array_to_tsvector(ARRAY[md5("ownerId")]) END) STORED;
CREATE INDEX "Message_searchVector_content_idx" ON "Message" USING GIN ("searchVector", "content" gin_trgm_ops) WHERE (status <> 'STREAMING');
