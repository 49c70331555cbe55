import { checkPageSize, cursorId, staleCursor } from "../core/pagination.js";
import type { Prisma } from "../db/generated/prisma/client.js";
import type { Context } from "./context.js";
import { requireViewer } from "./context.js";

type MessagePageQuery = {
  include?: Prisma.MessageInclude;
  select?: Prisma.MessageSelect;
  cursor?: Prisma.MessageWhereUniqueInput;
  take: number;
  skip: number;
};

/**
 * A page of a conversation's messages in conversation order (oldest first); `last`/`before` page backwards
 * through older history. The conversation is already known to be the viewer's (it is the parent object).
 */
export async function listMessages(
  ctx: Context,
  conversationId: string,
  args: { first?: number | null; last?: number | null },
  query: MessagePageQuery,
) {
  requireViewer(ctx);
  checkPageSize(args);
  const { cursor, take, skip, ...selection } = query;
  const from = cursorId(cursor);
  // The cursor's position: keyset pages compare on it, and a cursor without one here is stale or foreign.
  let position: number | null = null;
  if (from !== null) {
    const row = await ctx.prisma.message.findFirst({
      where: { id: from, conversationId },
      select: { position: true },
    });
    if (!row) throw staleCursor();
    position = row.position;
  }
  const after = position === null ? {} : { position: skip > 0 ? { gt: position } : { gte: position } };
  const before = position === null ? {} : { position: skip > 0 ? { lt: position } : { lte: position } };
  if (take >= 0) {
    return ctx.prisma.message.findMany({
      ...selection,
      where: { conversationId, ...after },
      orderBy: { position: "asc" },
      take,
    });
  }
  // Backwards (last/before), as keyset: Prisma answers a negative `take` without a LIMIT, reading every
  // older message of the conversation. Newest first with a LIMIT, then back to conversation order, which is
  // what a negative take returns.
  const rows = await ctx.prisma.message.findMany({
    ...selection,
    where: { conversationId, ...before },
    orderBy: { position: "desc" },
    take: -take,
  });
  return rows.reverse();
}
