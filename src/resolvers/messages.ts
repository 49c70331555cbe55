import type { Context } from "../context.js";
import { requireViewer } from "../context.js";
import type { Prisma } from "../generated/prisma/client.js";
import { checkPageSize, cursorId, staleCursor } from "./pagination.js";

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
  const from = cursorId(query.cursor);
  if (from !== null) {
    const exists = await ctx.prisma.message.count({ where: { id: from, conversationId } });
    if (exists === 0) throw staleCursor();
  }
  return ctx.prisma.message.findMany({ ...query, where: { conversationId }, orderBy: { position: "asc" } });
}
