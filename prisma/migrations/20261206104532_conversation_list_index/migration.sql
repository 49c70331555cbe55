-- The list of conversations has one order, pinned first, served by the index the organise migration made;
-- this one, from before pinning, was read by no query and written by every send.
-- DropIndex
DROP INDEX "Conversation_ownerId_activityAt_id_idx";
