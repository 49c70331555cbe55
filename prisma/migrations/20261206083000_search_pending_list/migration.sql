-- Hand-written: the search index takes up to 16 MB of finished messages before they are merged into it.
-- A finished message's words and trigrams wait in the GIN index's pending list until an insert finds the
-- list full and merges it, one index insertion per distinct key of the whole list. The larger the list,
-- the more messages share each insertion: 16 MB instead of PostgreSQL's default 4 MB is 29 % fewer of
-- PostgreSQL's instructions per reply (BENCHMARKS.md, "Sixteenth session"). Every search also reads the
-- pending list: about 1 microsecond a page, so a full list of 2,048 pages adds about 2 ms to a search.
-- src/db/search/language.ts recreates the index with the same parameter.
-- (No semicolons in these comments: the schema engine splits the script on them.)
ALTER INDEX "Message_searchVector_text_idx" SET (gin_pending_list_limit = 16384);
