import { checkPageSize } from "../core/pagination.js";
import { type MessagePageQuery, listMessages as messagePage } from "../db/messages.js";
import type { Context } from "./context.js";
import { requireViewer } from "./context.js";

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
  return messagePage(ctx.prisma, conversationId, query);
}
