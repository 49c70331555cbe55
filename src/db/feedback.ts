import type { Db } from "./client.js";
import type { FeedbackRating } from "./generated/prisma/client.js";
import type { MessageSelection } from "./messages.js";

/** The role of one of the owner's messages, or null when it does not exist or is someone else's. */
export async function roleOfOwnedMessage(db: Db, ownerId: string, id: string) {
  const message = await db.message.findFirst({ where: { id, ownerId }, select: { role: true } });
  return message?.role ?? null;
}

/** Sets the owner's rating (and comment) of a message, replacing any earlier one. */
export async function rateMessage(
  db: Db,
  ownerId: string,
  messageId: string,
  feedback: { rating: FeedbackRating; comment: string | null },
) {
  await db.messageFeedback.upsert({
    where: { messageId },
    create: { messageId, ownerId, ...feedback },
    update: feedback,
  });
}

/** Removes the owner's rating of a message, if there was one. */
export async function clearMessageRating(db: Db, ownerId: string, messageId: string) {
  await db.messageFeedback.deleteMany({ where: { messageId, ownerId } });
}

/** One of the owner's messages (with Pothos's selection), or null when missing or someone else's. */
export function findOwnedMessage(db: Db, ownerId: string, id: string, query: MessageSelection = {}) {
  return db.message.findFirst({ ...query, where: { id, ownerId } });
}
