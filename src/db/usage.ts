import type { Db } from "./client.js";
import { Prisma } from "./generated/prisma/client.js";

/** A token quota: usage recorded on the owner's messages created since `since` must stay below `limit`. */
export interface TokenQuota {
  since: Date;
  limit: number;
}

/**
 * Whether the owner's replies used fewer tokens than the quota allows, as a condition (true without a quota):
 * the usage recorded on their finished messages since the quota's start (the `(ownerId, createdAt)` index of
 * finished messages serves it; replies still running have recorded nothing yet). The send's statement checks
 * it, so the quota costs no round trip of its own for every send.
 */
export function underQuota(ownerId: string, quota: TokenQuota | null): Prisma.Sql {
  if (quota === null) return Prisma.sql`true`;
  return Prisma.sql`(SELECT COALESCE(SUM(u."totalTokens"), 0) FROM "public"."Message" u
                      WHERE u."ownerId" = ${ownerId} AND u."createdAt" >= ${quota.since.toISOString()}::timestamp(3)
                        AND u.status <> 'STREAMING' AND u."totalTokens" IS NOT NULL) < ${quota.limit}`;
}

/** Whether the owner has used up the quota: asked when a send saved nothing, to tell whether that was why. */
export async function quotaUsedUp(db: Db, ownerId: string, quota: TokenQuota): Promise<boolean> {
  const [row] = await db.$queryRaw<{ under: boolean }[]>`SELECT ${underQuota(ownerId, quota)} AS under`;
  return row?.under === false;
}
