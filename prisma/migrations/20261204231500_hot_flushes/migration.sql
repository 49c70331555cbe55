-- Hand-written: a streaming reply's flushes become HOT updates.
-- Every index of a table blocks HOT updates of the columns it reads, and the trigram index read an
-- expression of "content", so each flush of a streaming reply wrote a new entry in every index of
-- "Message" (eight B-trees). The trigram index now reads "searchText", a STORED generated column that stays
-- NULL while the reply streams: a flush changes no indexed value, and PostgreSQL updates the row in place
-- on its page. The search's fragment rule compares "searchText" (src/db/search/sql.ts), and
-- src/db/search/language.ts recreates the index with the same statement when the search columns are rebuilt.
-- The index reads the column through an expression that changes no value ("searchText" || '')
-- because Prisma cannot declare a partial trigram index: it leaves expression indexes alone.
-- A tenth of each page is kept free (fillfactor) for the new versions of the rows written on it.
-- (No semicolons in these comments: the schema engine splits the script on them.)
DROP INDEX "Message_searchVector_text_idx";

ALTER TABLE "Message" ADD COLUMN "searchText" text GENERATED ALWAYS AS (
  CASE WHEN "status" = 'STREAMING' THEN NULL ELSE lower("content" COLLATE "und-x-icu") END
) STORED;

CREATE INDEX "Message_searchVector_text_idx" ON "Message" USING GIN ("searchVector", ("searchText" || '') gin_trgm_ops) WHERE (status <> 'STREAMING');

ALTER TABLE "Message" SET (fillfactor = 90);
