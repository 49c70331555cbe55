-- Hand-written: a finished reply's row is stored as it is, not run through compression first.
-- A reply's text is on its row three times (its content, "searchText" and "searchVector"), so a reply of
-- 700 characters or more makes a row over PostgreSQL's 2 kB toast threshold. PostgreSQL then tried to
-- compress the row's largest values on every end of a reply, and text of that size rarely shrinks enough:
-- 2 % of the database's instructions per turn, for nothing (callgrind, BENCHMARKS.md "Eleventh session").
-- Rows are now compressed or moved out of line only past 8 kB: long replies still are.
-- (No semicolons in these comments: the schema engine splits the script on them.)
ALTER TABLE "Message" SET (toast_tuple_target = 8160);
