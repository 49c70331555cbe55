import { encodeGlobalID } from "@pothos/plugin-relay";
import { databaseIdOf } from "../core/ids.js";
import type { Db } from "../db/client.js";
import { findOwnedConversation, listConversations, ownsConversation } from "../db/conversations.js";
import type { Conversation } from "../db/generated/prisma/client.js";
import { messagePage, messagesByIds } from "../db/messages.js";
import { type SearchMessagesArgs, searchMessages } from "../db/search/search.js";

/** A conversation as the built-in tools describe it; ids are the GraphQL API's global ids. */
export interface ConversationSummary {
  id: string;
  title: string;
  createdAt: string;
  lastActivityAt: string;
  archived: boolean;
  /** Pinned conversations list first. */
  pinned: boolean;
  /** The user's labels, normalised (lower-case). */
  tags: string[];
  messageCount: number;
}

/** A message as `get_conversation` returns it. */
export interface MessageView {
  id: string;
  /** 1-based place on a path from the conversation's first message (its depth in the tree). */
  position: number;
  role: string;
  status: string;
  content: string;
  createdAt: string;
  toolCalls?: { server: string; name: string; isError: boolean }[];
}

function summary(c: Conversation): ConversationSummary {
  return {
    id: encodeGlobalID("Conversation", c.id),
    title: c.title,
    createdAt: c.createdAt.toISOString(),
    lastActivityAt: c.activityAt.toISOString(),
    archived: c.archivedAt !== null,
    pinned: c.pinned,
    tags: c.tags,
    messageCount: c.messageCount,
  };
}

/** The user's conversations in the list's order: pinned first, then most recently active. */
export async function recentConversations(
  prisma: Db,
  ownerId: string,
  options: { limit: number; includeArchived: boolean },
): Promise<ConversationSummary[]> {
  const filter = options.includeArchived ? {} : { archived: false };
  const rows = await listConversations(prisma, ownerId, filter, { take: options.limit, skip: 0 });
  return rows.map(summary);
}

/**
 * One of the user's conversations with the newest `limit` messages of its active path before
 * `beforePosition` (a depth on the path; all when absent), oldest first; null when it does not exist or is someone else's (the two are not told apart).
 */
export async function conversationWithMessages(
  prisma: Db,
  ownerId: string,
  conversationId: string,
  options: { limit: number; beforePosition?: number },
): Promise<{ conversation: ConversationSummary; messages: MessageView[]; hasOlder: boolean } | null> {
  const conversation = await findOwnedConversation(prisma, ownerId, conversationId);
  if (!conversation) return null;
  // One more than asked for tells whether older messages remain.
  const rows = await messagePage(
    prisma,
    conversationId,
    { take: -(options.limit + 1), depth: options.beforePosition },
    {
      include: {
        toolCalls: { orderBy: { position: "asc" }, select: { server: true, name: true, isError: true } },
      },
    },
  );
  const hasOlder = rows.length > options.limit;
  const messages = (hasOlder ? rows.slice(1) : rows).map(
    (m): MessageView => ({
      id: encodeGlobalID("Message", m.id),
      position: m.depth,
      role: m.role,
      status: m.status,
      content: m.content,
      createdAt: m.createdAt.toISOString(),
      ...(m.toolCalls.length > 0 ? { toolCalls: m.toolCalls } : {}),
    }),
  );
  return { conversation: summary(conversation), messages, hasOlder };
}

/** A search result as `search_messages` returns it. */
export interface SearchResultView {
  messageId: string;
  conversationId: string;
  conversationTitle: string;
  role: string;
  /** 1-based place on a path from the conversation's first message (its depth in the tree). */
  position: number;
  createdAt: string;
  /** The matching passage, matches wrapped in `<mark></mark>` (HTML-escaped text). */
  snippet: string;
  rank: number;
}

/**
 * A page of the user's search results (the full-text search of `src/search`), with each message's place in
 * its conversation. Null when `conversationId` names no conversation of the user's.
 */
export async function searchUserMessages(
  prisma: Db,
  ownerId: string,
  args: Omit<SearchMessagesArgs, "conversationId"> & { conversationId?: string },
): Promise<{ results: SearchResultView[]; nextCursor: string | null } | null> {
  let conversationId: string | null = null;
  if (args.conversationId !== undefined) {
    // The global id (as `search_messages` and the API give it) or the bare UUID.
    conversationId = databaseIdOf(args.conversationId, "Conversation");
    if (!conversationId || !(await ownsConversation(prisma, ownerId, conversationId))) return null;
  }
  const page = await searchMessages(prisma, ownerId, { ...args, conversationId });
  const messages = await messagesByIds(
    prisma,
    ownerId,
    page.hits.map((h) => h.messageId),
    { select: { id: true, role: true, depth: true, conversation: { select: { title: true } } } },
  );
  const byId = new Map(messages.map((m) => [m.id, m]));
  const results = page.hits.flatMap((hit): SearchResultView[] => {
    const message = byId.get(hit.messageId);
    if (!message) return []; // deleted since the search
    return [
      {
        messageId: encodeGlobalID("Message", hit.messageId),
        conversationId: encodeGlobalID("Conversation", hit.conversationId),
        conversationTitle: message.conversation.title,
        role: message.role,
        position: message.depth,
        createdAt: hit.createdAt.toISOString(),
        snippet: hit.snippet,
        rank: hit.rank,
      },
    ];
  });
  return { results, nextCursor: page.hasNextPage ? (page.hits.at(-1)?.cursor ?? null) : null };
}
