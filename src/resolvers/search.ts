import { queryFromInfo } from "@pothos/plugin-prisma";
import type { GraphQLResolveInfo } from "graphql";
import { NotFoundError } from "../core/errors.js";
import { parseGlobalId } from "../core/ids.js";
import type { Message } from "../db/columns.js";
import { conversationsByIds, ownsConversation } from "../db/conversations.js";
import type { Conversation } from "../db/generated/prisma/client.js";
import { messagesByIds } from "../db/messages.js";
import { type SearchMatch, searchMessages } from "../db/search/search.js";
import type { Context } from "./context.js";
import { requireViewer } from "./context.js";

/** One edge's node: the hit with its message and conversation loaded as the query selects them. */
export interface SearchResult {
  readonly message: Message;
  readonly conversation: Conversation;
  readonly snippet: string;
  readonly rank: number;
  readonly match: SearchMatch;
  readonly isOnActivePath: boolean;
}

/**
 * `Query.searchMessages`: the viewer's search (src/search), then the page's messages and conversations in
 * one query each, with the fields the client selected under `edges.node`.
 */
export async function searchViewerMessages(
  ctx: Context,
  args: {
    query: string;
    conversationId?: string | number | null;
    first?: number | null;
    after?: string | null;
    includeArchived?: boolean | null;
    activePathOnly?: boolean | null;
  },
  info: GraphQLResolveInfo,
) {
  const viewer = requireViewer(ctx);
  let conversationId: string | null = null;
  if (args.conversationId != null) {
    conversationId = parseGlobalId(String(args.conversationId), "Conversation", "conversationId");
    if (!(await ownsConversation(ctx.prisma, viewer.id, conversationId)))
      throw new NotFoundError("Conversation");
  }
  const page = await searchMessages(ctx.prisma, viewer.id, { ...args, conversationId });

  const messageIds = page.hits.map((hit) => hit.messageId);
  const conversationIds = [...new Set(page.hits.map((hit) => hit.conversationId))];
  const [messages, conversations] = await Promise.all([
    messagesByIds(
      ctx.prisma,
      viewer.id,
      messageIds,
      queryFromInfo({ context: ctx, info, typeName: "Message", path: ["edges", "node", "message"] }),
    ),
    conversationsByIds(
      ctx.prisma,
      viewer.id,
      conversationIds,
      queryFromInfo({
        context: ctx,
        info,
        typeName: "Conversation",
        path: ["edges", "node", "conversation"],
      }),
    ),
  ]);
  const messageById = new Map(messages.map((m) => [m.id, m]));
  const conversationById = new Map(conversations.map((c) => [c.id, c]));

  const edges = page.hits.flatMap((hit) => {
    const message = messageById.get(hit.messageId);
    const conversation = conversationById.get(hit.conversationId);
    // Deleted between the two queries: the result is gone, the cursors around it still hold.
    if (!message || !conversation) return [];
    const node: SearchResult = {
      message,
      conversation,
      snippet: hit.snippet,
      rank: hit.rank,
      match: hit.match,
      isOnActivePath: hit.isOnActivePath,
    };
    return [{ cursor: hit.cursor, node }];
  });
  return {
    edges,
    totalCount: page.totalCount,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: args.after != null,
      startCursor: page.hits[0]?.cursor ?? null,
      endCursor: page.hits.at(-1)?.cursor ?? null,
    },
  };
}
