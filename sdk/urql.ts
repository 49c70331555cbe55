import { gql } from "@urql/core";
import type { Cache, CacheExchangeOpts } from "@urql/exchange-graphcache";
import { relayPagination } from "@urql/exchange-graphcache/extras";
import schema from "./generated/introspection.js";
import {
  ConversationListDocument,
  type ConversationListQuery,
  ConversationMessagesDocument,
  type ConversationMessagesQuery,
  type ConversationSummaryFragment,
  ConversationSummaryFragmentDoc,
  type CreateConversationMutation,
  type DeleteConversationMutation,
  type ForkConversationMutation,
  MessageFieldsFragmentDoc,
  type StreamEventFragment,
  type ViewerEventFragment,
} from "./index.js";

// Graphcache (urql's normalized cache) for this API: entities keyed by their global ids, both connections
// merged with `relayPagination`, and updaters that keep lists right after mutations and while replies stream.
// The list updaters work on lists loaded with the SDK's ConversationList and ConversationMessages queries.

/** Types without an id: stored inside their parent rather than normalized. */
const EMBEDDED_TYPES = [
  "QueryConversationsConnection",
  "QueryConversationsConnectionEdge",
  "ConversationMessagesConnection",
  "ConversationMessagesConnectionEdge",
  "PageInfo",
  "TokenUsage",
  "CreateConversationPayload",
  "RenameConversationPayload",
  "ArchiveConversationPayload",
  "DeleteConversationPayload",
  "PinConversationPayload",
  "SetConversationTagsPayload",
  "RateMessagePayload",
  "TagCount",
  "MessageFeedback",
  "StopGenerationPayload",
  "SwitchBranchPayload",
  "ForkConversationPayload",
  "MessageCreated",
  "TextDelta",
  "ToolCallStarted",
  "ToolCallCompleted",
  "MessageSnapshot",
  "MessageCompleted",
  "MessageSearchConnection",
  "MessageSearchEdge",
  "MessageSearchResult",
  "ConversationCreated",
  "ConversationUpdated",
  "ConversationDeleted",
  "ReplyStarted",
  "ReplyFinished",
  "ShareConversationPayload",
  "RevokeSharePayload",
  "SharedConversation",
  "SharedMessage",
  "SharedToolCall",
  "ImportSharedConversationPayload",
  "ExportConversationsPayload",
  "ImportConversationsPayload",
];

/** Options for `cacheExchange` from `@urql/exchange-graphcache`. */
export function graphcacheOptions(): CacheExchangeOpts {
  return {
    // The schema makes fragment matching on the stream's union exact and lets Graphcache answer from the
    // cache with nullable fields it lacks while it asks the API.
    schema,
    // Ids are global (unique across types), so the type name need not be part of a key.
    globalIDs: true,
    keys: Object.fromEntries(EMBEDDED_TYPES.map((type) => [type, () => null])),
    resolvers: {
      Query: { conversations: relayPagination(), searchMessages: relayPagination() },
      Conversation: { messages: relayPagination() },
    },
    updates: {
      Mutation: {
        createConversation(result, _args, cache) {
          const { conversation } = (result as CreateConversationMutation).createConversation;
          moveConversationToTop(cache, conversation.id);
        },
        deleteConversation(result, _args, cache) {
          const { deletedId } = (result as DeleteConversationMutation).deleteConversation;
          removeFromLists(cache, deletedId, () => true);
          cache.invalidate({ __typename: "Conversation", id: deletedId });
        },
        archiveConversation(result, _args, cache) {
          moveBetweenLists(cache, idOf(result.archiveConversation), true);
        },
        unarchiveConversation(result, _args, cache) {
          moveBetweenLists(cache, idOf(result.unarchiveConversation), false);
        },
        // Pins order the lists, and tags decide what a narrowed list holds: the lists are fetched again.
        pinConversation(_result, _args, cache) {
          dropConversationLists(cache);
        },
        unpinConversation(_result, _args, cache) {
          dropConversationLists(cache);
        },
        setConversationTags(_result, _args, cache) {
          dropConversationLists(cache);
        },
        // Imported conversations may belong anywhere in the lists (their activity is the original's).
        importConversations(_result, _args, cache) {
          dropConversationLists(cache);
        },
        importSharedConversation(_result, _args, cache) {
          dropConversationLists(cache);
        },
        // Another branch is active: the loaded pages of its messages show the old path.
        switchBranch(result, _args, cache) {
          dropMessagePages(cache, idOf(result.switchBranch));
        },
        forkConversation(result, _args, cache) {
          const { conversation } = (result as ForkConversationMutation).forkConversation;
          moveConversationToTop(cache, conversation.id);
        },
      },
      Subscription: {
        sendMessage(result, _args, cache) {
          applyStreamEvent(cache, result.sendMessage as StreamEventFragment);
        },
        editMessage(result, _args, cache) {
          applyStreamEvent(cache, result.editMessage as StreamEventFragment);
        },
        regenerateReply(result, _args, cache) {
          applyStreamEvent(cache, result.regenerateReply as StreamEventFragment);
        },
        messageStream(result, _args, cache) {
          applyStreamEvent(cache, result.messageStream as StreamEventFragment);
        },
        viewerEvents(result, _args, cache) {
          applyViewerEvent(cache, result.viewerEvents as ViewerEventFragment);
        },
      },
    },
  };
}

const idOf = (payload: unknown) => (payload as { conversation: { id: string } }).conversation.id;

/** The stored pages of `entity.field` whose arguments pass `match`. */
function pagesOf(
  cache: Cache,
  entity: string,
  field: string,
  match: (args: Record<string, unknown>) => boolean,
) {
  return cache.inspectFields(entity).filter((f) => f.fieldName === field && match(f.arguments ?? {}));
}

/** The first page of a paginated field: the one loaded without a cursor. */
const isFirstPage = (args: Record<string, unknown>) => args.after == null && args.before == null;

const isArchivedList = (args: Record<string, unknown>) => args.archived === true;

/** The edge keys stored for one page, with the connection that holds them. */
function edgesOf(cache: Cache, entity: string, fieldKey: string) {
  const connection = cache.resolve(entity, fieldKey) as string | null;
  const edges = connection ? ((cache.resolve(connection, "edges") as string[] | null) ?? []) : [];
  return { connection, edges };
}

/** The stored pages of the conversation lists that `inList(archived)` selects. */
const listPages = (cache: Cache, inList: (archived: boolean) => boolean) =>
  pagesOf(cache, "Query", "conversations", (a) => inList(isArchivedList(a)));

/** Whether any of `pages` holds the conversation. */
const inAnyPage = (cache: Cache, pages: ReturnType<typeof pagesOf>, id: string) =>
  pages.some((p) => edgesOf(cache, "Query", p.fieldKey).edges.some((e) => cache.resolve(e, "node") === id));

/** Rewrites the first page (the one loaded without a cursor) of each selected conversation list. */
function updateFirstPages(
  cache: Cache,
  pages: ReturnType<typeof pagesOf>,
  update: (list: ConversationListQuery["conversations"]) => void,
) {
  for (const page of pages.filter((p) => isFirstPage(p.arguments ?? {}))) {
    cache.updateQuery(
      { query: ConversationListDocument, variables: page.arguments ?? {} },
      (data: ConversationListQuery | null) => {
        if (!data) return null;
        update(data.conversations);
        return data;
      },
    );
  }
}

/** Whether a list is narrowed to some conversations (a tag, or pinned ones only). */
const isNarrowedList = (args: Record<string, unknown>) => args.tag != null || args.pinned === true;

/**
 * Puts a conversation first among the unpinned ones of the active lists (new, or it just got a message); a
 * pinned one keeps its place, as activity does not order pins, and lists narrowed to a tag or to pins only
 * reorder a conversation they already hold. A later page may still hold it: `relayPagination` merges pages
 * in order and keeps the first copy of each node.
 */
function moveConversationToTop(cache: Cache, id: string) {
  const node = cache.readFragment(ConversationSummaryFragmentDoc, { __typename: "Conversation", id });
  if (!node || node.pinnedAt) return;
  for (const narrowed of [false, true]) {
    const pages = listPages(cache, (archived) => !archived).filter(
      (p) => isNarrowedList(p.arguments ?? {}) === narrowed,
    );
    const isNew = !inAnyPage(cache, pages, id);
    if (isNew && narrowed) continue;
    updateFirstPages(cache, pages, (list) => {
      const others = list.edges.filter((e) => e.node.id !== id);
      const pins = others.findIndex((e) => !e.node.pinnedAt);
      const at = pins === -1 ? others.length : pins;
      list.edges = [
        ...others.slice(0, at),
        edge("QueryConversationsConnectionEdge", node),
        ...others.slice(at),
      ];
      if (isNew) list.totalCount += 1;
    });
  }
}

/** Drops every cached page of every conversation list; views showing one ask the API again. */
function dropConversationLists(cache: Cache) {
  for (const page of pagesOf(cache, "Query", "conversations", () => true)) {
    cache.invalidate("Query", "conversations", page.arguments ?? undefined);
  }
}

/** Removes a conversation from every page of the lists `inList(archived)` selects. */
function removeFromLists(cache: Cache, id: string, inList: (archived: boolean) => boolean) {
  const pages = listPages(cache, inList);
  if (!inAnyPage(cache, pages, id)) return;
  for (const page of pages) {
    const { connection, edges } = edgesOf(cache, "Query", page.fieldKey);
    const kept = edges.filter((e) => cache.resolve(e, "node") !== id);
    if (connection && kept.length !== edges.length) cache.link(connection, "edges", kept);
  }
  updateFirstPages(cache, pages, (list) => {
    list.totalCount -= 1;
  });
}

/** Archiving takes a conversation out of the active lists; the archived lists are refetched when shown. */
function moveBetweenLists(cache: Cache, id: string, archived: boolean) {
  removeFromLists(cache, id, (list) => list !== archived);
  for (const page of listPages(cache, (list) => list === archived)) {
    cache.invalidate("Query", "conversations", page.arguments ?? undefined);
  }
}

/** Adds a new message after the newest loaded page of its conversation's messages (once). */
function appendMessage(cache: Cache, conversationId: string, messageId: string) {
  const node = cache.readFragment(MessageFieldsFragmentDoc, { __typename: "Message", id: messageId });
  if (!node) return;
  for (const page of pagesOf(cache, conversationId, "messages", isFirstPage)) {
    cache.updateQuery(
      { query: ConversationMessagesDocument, variables: { id: conversationId, ...page.arguments } },
      (data: ConversationMessagesQuery | null) => {
        const messages = data?.conversation?.messages;
        if (!messages || messages.edges.some((e) => e.node.id === messageId)) return null;
        messages.edges.push(edge("ConversationMessagesConnectionEdge", node));
        messages.totalCount += 1;
        return data;
      },
    );
  }
}

/**
 * Drops the loaded pages of a conversation's messages (the active path changed: a branch switch, or a new
 * version that replaces the messages after its parent); views showing them ask the API again.
 */
function dropMessagePages(cache: Cache, conversationId: string) {
  for (const page of pagesOf(cache, conversationId, "messages", () => true)) {
    cache.invalidate(conversationId, "messages", page.arguments ?? undefined);
  }
}

/**
 * An edge for a node the client added to a list. It has no cursor (the server never gave it one); pages
 * still load after the last edge that has one. Graphcache needs the `__typename` the types leave out.
 */
function edge<Node>(typename: string, node: Node): { cursor: string; node: Node } {
  return { __typename: typename, cursor: null, node } as unknown as { cursor: string; node: Node };
}

const MESSAGE_CONTENT = gql`
  fragment _ on Message {
    id
    content
  }
`;

const MESSAGE_REASONING = gql`
  fragment _ on Message {
    reasoning
  }
`;

/**
 * Applies one `sendMessage` / `editMessage` / `regenerateReply` / `messageStream` event: a new message joins
 * its conversation, which moves to the top of the list (a new version, `siblingIndex > 0`, changes the
 * path after its parent: the loaded pages are dropped and fetched again); streamed text and tool calls are
 * added to their message. Graphcache has already
 * normalized the objects the event carries. Each event must be applied once, in `seq` order.
 */
function applyStreamEvent(cache: Cache, event: StreamEventFragment) {
  switch (event.__typename) {
    case "MessageCreated":
      if (event.message.siblingIndex > 0) dropMessagePages(cache, event.message.conversation.id);
      else appendMessage(cache, event.message.conversation.id, event.message.id);
      moveConversationToTop(cache, event.message.conversation.id);
      return;
    case "TextDelta": {
      const content = cache.resolve(event.messageId, "content");
      if (typeof content !== "string") return;
      const data = { __typename: "Message", id: event.messageId, content: content + event.delta };
      cache.writeFragment(MESSAGE_CONTENT, data);
      return;
    }
    case "ReasoningDelta": {
      const reasoning = cache.resolve(event.messageId, "reasoning");
      const data = {
        __typename: "Message",
        id: event.messageId,
        reasoning: `${typeof reasoning === "string" ? reasoning : ""}${event.delta}`,
      };
      cache.writeFragment(MESSAGE_REASONING, data);
      return;
    }
    case "ToolApprovalRequested":
    case "ToolCallStarted":
    case "ToolCallCompleted": {
      const calls = (cache.resolve(event.messageId, "toolCalls") as string[] | null) ?? [];
      const key = cache.keyOfEntity({ __typename: "ToolCall", id: event.toolCall.id });
      if (key && !calls.includes(key)) cache.link(event.messageId, "toolCalls", [...calls, key]);
      return;
    }
    default:
      // MessageSnapshot and MessageCompleted carry the whole message, which Graphcache has stored.
      return;
  }
}

const ACTIVE_REPLY = gql`
  fragment _ on Conversation {
    id
    activeReplyId
  }
`;

const MESSAGE_STATUS = gql`
  fragment _ on Message {
    id
    status
  }
`;

/** A tag as the API stores and matches it (see `Conversation.tags`). */
const normalTag = (tag: string) => tag.normalize("NFC").replace(/\s+/g, " ").trim().toLowerCase();

/** Whether a conversation belongs in a list loaded with these arguments. */
function belongs(args: Record<string, unknown>, c: ConversationSummaryFragment): boolean {
  if ((c.archivedAt !== null) !== (args.archived === true)) return false;
  if (args.pinned != null && (c.pinnedAt !== null) !== args.pinned) return false;
  return typeof args.tag !== "string" || c.tags.includes(normalTag(args.tag));
}

type Ordered = Pick<ConversationSummaryFragment, "pinnedAt" | "lastActivityAt">;

/** Whether `a` lists before `b`: pinned first (newest pin first), then the most recently active. */
function listsBefore(a: Ordered, b: Ordered): boolean {
  if ((a.pinnedAt === null) !== (b.pinnedAt === null)) return a.pinnedAt !== null;
  if (a.pinnedAt !== null && b.pinnedAt !== null && a.pinnedAt !== b.pinnedAt) return a.pinnedAt > b.pinnedAt;
  return a.lastActivityAt > b.lastActivityAt;
}

/** One list's identity: its filter arguments, whatever page. */
const listKey = (args: Record<string, unknown>) =>
  JSON.stringify([args.archived === true, args.pinned ?? null, args.tag ?? null]);

/**
 * Puts a conversation where it now belongs in every cached list (see the Apollo twin in sdk/apollo.ts):
 * out of every page of the lists it left or moves within, then into its place on the first page of the
 * lists it belongs to (unless that place is past the first page, which has more after it). Only a
 * conversation `created` that a list did not hold yet, or one leaving a list, changes its `totalCount`.
 */
function placeConversation(cache: Cache, c: ConversationSummaryFragment, created: boolean) {
  const pages = pagesOf(cache, "Query", "conversations", () => true);
  /** The lists that held it (by `listKey`): it is counted in them already. */
  const held = new Set<string>();
  for (const page of pages) {
    const { connection, edges } = edgesOf(cache, "Query", page.fieldKey);
    const kept = edges.filter((e) => cache.resolve(e, "node") !== c.id);
    if (!connection || kept.length === edges.length) continue;
    cache.link(connection, "edges", kept);
    held.add(listKey(page.arguments ?? {}));
  }
  const node = cache.readFragment(ConversationSummaryFragmentDoc, { __typename: "Conversation", id: c.id });
  for (const page of pages.filter((p) => isFirstPage(p.arguments ?? {}))) {
    const args = page.arguments ?? {};
    cache.updateQuery(
      { query: ConversationListDocument, variables: args },
      (data: ConversationListQuery | null) => {
        if (!data) return null;
        const list = data.conversations;
        const wasThere = held.has(listKey(args));
        if (!belongs(args, c)) {
          if (wasThere) list.totalCount -= 1;
          return data;
        }
        if (!node) return data;
        const at = list.edges.findIndex((e) => listsBefore(c, e.node));
        if (at === -1 && list.pageInfo.hasNextPage) return data;
        const place = at === -1 ? list.edges.length : at;
        list.edges.splice(place, 0, edge("QueryConversationsConnectionEdge", node));
        if (created && !wasThere) list.totalCount += 1;
        return data;
      },
    );
  }
}

/**
 * Applies one `viewerEvents` event; the `viewerEvents` updater calls it, so a client that subscribes to the
 * SDK's `ViewerEvents` has its lists follow every change made in other tabs, devices or instances: a new
 * conversation joins the lists it belongs to, in its place; an updated one (renamed, pinned, tagged,
 * archived, new activity) moves to where it now belongs; a deleted one leaves them and is invalidated; a
 * reply starting or finishing sets its conversation's `activeReplyId` (and the message's status, when
 * cached).
 */
export function applyViewerEvent(cache: Cache, event: ViewerEventFragment): void {
  switch (event.__typename) {
    case "ConversationCreated":
    case "ConversationUpdated":
      if (event.conversation)
        placeConversation(cache, event.conversation, event.__typename === "ConversationCreated");
      return;
    case "ConversationDeleted":
      removeFromLists(cache, event.conversationId, () => true);
      cache.invalidate({ __typename: "Conversation", id: event.conversationId });
      return;
    case "ReplyStarted":
      if (cache.resolve(event.conversationId, "id") != null)
        cache.writeFragment(ACTIVE_REPLY, {
          __typename: "Conversation",
          id: event.conversationId,
          activeReplyId: event.messageId,
        });
      return;
    case "ReplyFinished":
      if (cache.resolve(event.conversationId, "activeReplyId") === event.messageId)
        cache.writeFragment(ACTIVE_REPLY, {
          __typename: "Conversation",
          id: event.conversationId,
          activeReplyId: null,
        });
      if (cache.resolve(event.messageId, "id") != null)
        cache.writeFragment(MESSAGE_STATUS, {
          __typename: "Message",
          id: event.messageId,
          status: event.status,
        });
      return;
  }
}
