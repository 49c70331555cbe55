-- A reply's end clears "activeReplyId" (and sets "updatedAt"): with the column in no index and room left
-- on the row's page, that update is HOT, written in place without an entry in any of the conversation's
-- seven indexes (two of them GIN). The unique index guarded nothing a send relies on: the send claims the
-- conversation only while "activeReplyId" is null, under the row's lock.
-- (No semicolons in these comments: the schema engine splits the script on them.)
DROP INDEX "Conversation_activeReplyId_key";

ALTER TABLE "Conversation" SET (fillfactor = 90);
