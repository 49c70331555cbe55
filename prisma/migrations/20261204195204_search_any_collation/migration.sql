-- DropIndex
DROP INDEX "Message_searchVector_content_idx";

-- ---------------------------------------------------------------------------------------------------------
-- Hand-written below: search matches text the same on every database collation.
-- Under the C collation ILIKE does not fold accented capitals and the regex class [:alnum:] leaves out
-- letters such as ü, so the fragment and whole-word rules compare text lower-cased under the ICU root
-- collation instead (src/db/search/sql.ts). The trigram index follows that expression, which Prisma
-- cannot declare: schema.prisma leaves it out and the schema engine leaves it alone.
-- src/db/search/language.ts recreates it with the same statement when the search columns are rebuilt.
-- (No semicolons in these comments: the schema engine splits the script on them.)
-- ---------------------------------------------------------------------------------------------------------
CREATE INDEX "Message_searchVector_text_idx" ON "Message" USING GIN ("searchVector", lower("content" COLLATE "und-x-icu") gin_trgm_ops) WHERE (status <> 'STREAMING');
