import type { Db } from "./client.js";

/**
 * Tokens the owner's replies used since `since`, from the usage recorded on their messages (the
 * `(ownerId, createdAt)` index serves it). Replies still running have recorded nothing yet.
 */
export async function tokensUsedSince(db: Db, ownerId: string, since: Date): Promise<number> {
  const { _sum } = await db.message.aggregate({
    where: { ownerId, createdAt: { gte: since }, totalTokens: { not: null } },
    _sum: { totalTokens: true },
  });
  return _sum.totalTokens ?? 0;
}
