import { type ApolloCache, InMemoryCache, type Reference } from "@apollo/client";
import { relayStylePagination } from "@apollo/client/utilities";
import type {
  ConversationSummaryFragment,
  MessageFieldsFragment,
  StreamEventFragment,
  ViewerEventFragment,
} from "./index.js";
import { possibleTypes } from "./index.js";

// Apollo Client's cache for this API. Objects are normalized by their global id (`Conversation:<id>`,
// `Message:<id>`), both connections merge their pages with `relayStylePagination`, and the helpers below
// keep lists right after mutations and while replies stream.

/** An InMemoryCache that knows this schema's unions, connections and cache redirects. */
export function createApolloCache(): InMemoryCache {
  return new InMemoryCache({
    possibleTypes,
    typePolicies: {
      Query: {
        fields: {
          // One list per filter (`archived`, `pinned`, `tag`); `first`/`after` pages are merged into it.
          conversations: relayStylePagination(["archived", "pinned", "tag"]),
          // One list of results per search; later pages are appended.
          searchMessages: relayStylePagination(["query", "conversationId", "includeArchived"]),
          // A conversation already in the cache (from the list, say) is read from there.
          conversation: {
            read: (existing, { args, toReference }) =>
              existing ?? toReference({ __typename: "Conversation", id: args?.id as string }),
          },
        },
      },
      // Messages page backwards (`last`/`before`): older pages are prepended.
      Conversation: { fields: { messages: relayStylePagination() } },
      // Each stream event replaces the last one (events have no id; their messages are normalized).
      Subscription: {
        fields: {
          sendMessage: { merge: false },
          editMessage: { merge: false },
          regenerateReply: { merge: false },
          messageStream: { merge: false },
          viewerEvents: { merge: false },
        },
      },
    },
  });
}

/** A connection as `relayStylePagination` stores it. */
interface StoredConnection {
  edges: { __typename?: string; cursor?: string | null; node: Reference }[];
  pageInfo?: Record<string, unknown>;
  totalCount?: number;
}

/** Whether a stored `conversations` field is the list of archived conversations. */
const isArchivedList = (storeFieldName: string) => storeFieldName.includes('"archived":true');

/** Whether a stored `conversations` field is narrowed to some conversations (a tag, or pinned ones only). */
const isNarrowedList = (storeFieldName: string) =>
  storeFieldName.includes('"tag":') || storeFieldName.includes('"pinned":true');

/**
 * Puts a conversation first among the unpinned ones of the active conversation lists (a new conversation,
 * or one that just got a message); a pinned one keeps its place, as activity does not order pins. Lists
 * narrowed to a tag or to pins only reorder a conversation they already hold. Its old cursor no longer
 * describes its place, so the moved edge has none; later pages still load after the last edge that has one.
 */
export function moveConversationToTop(cache: ApolloCache, conversation: { id: string }): void {
  cache.modify<{ conversations: StoredConnection }>({
    id: "ROOT_QUERY",
    fields: {
      conversations(value, { storeFieldName, toReference, readField }) {
        const existing = value as unknown as StoredConnection;
        if (isArchivedList(storeFieldName) || !existing?.edges) return value;
        const ref = toReference({ __typename: "Conversation", id: conversation.id });
        if (!ref || readField("pinnedAt", ref)) return value;
        const others = existing.edges.filter((e) => readField("id", e.node) !== conversation.id);
        const added = others.length === existing.edges.length ? 1 : 0;
        if (added && isNarrowedList(storeFieldName)) return value;
        const pins = others.findIndex((e) => !readField("pinnedAt", e.node));
        const at = pins === -1 ? others.length : pins;
        const moved = { __typename: "QueryConversationsConnectionEdge", cursor: null, node: ref };
        return {
          ...existing,
          edges: [...others.slice(0, at), moved, ...others.slice(at)],
          ...(existing.totalCount === undefined ? {} : { totalCount: existing.totalCount + added }),
        } as never;
      },
    },
  });
}

/**
 * Drops every cached conversation list, so that views showing one fetch it again: call it from the `update`
 * of `pinConversation`, `unpinConversation` and `setConversationTags`, which change the lists' order or
 * which conversations a narrowed list holds, and of `importConversations` and `importSharedConversation`,
 * whose new conversations may belong anywhere in them.
 */
export function dropConversationLists(cache: ApolloCache): void {
  cache.evict({ id: "ROOT_QUERY", fieldName: "conversations" });
  cache.gc();
}

/**
 * Takes a conversation out of the cached lists it no longer belongs to: all of them when it was deleted
 * (it is then evicted), the active ones when archived, the archived ones when unarchived. The list it moved
 * to is dropped from the cache, so that a view showing it fetches it again in the right order.
 */
export function removeConversationFromLists(
  cache: ApolloCache,
  id: string,
  reason: "deleted" | "archived" | "unarchived",
): void {
  cache.modify<{ conversations: StoredConnection }>({
    id: "ROOT_QUERY",
    fields: {
      conversations(value, { storeFieldName, readField }) {
        const existing = value as unknown as StoredConnection;
        if (!existing?.edges) return value;
        const archivedList = isArchivedList(storeFieldName);
        if (reason === "archived" && archivedList) return value;
        if (reason === "unarchived" && !archivedList) return value;
        const edges = existing.edges.filter((e) => readField("id", e.node) !== id);
        const removed = existing.edges.length - edges.length;
        return {
          ...existing,
          edges,
          ...(existing.totalCount === undefined ? {} : { totalCount: existing.totalCount - removed }),
        } as never;
      },
    },
  });
  if (reason === "deleted") {
    cache.evict({ id: cache.identify({ __typename: "Conversation", id }) });
    cache.gc();
  } else {
    cache.evict({ id: "ROOT_QUERY", fieldName: "conversations", args: { archived: reason === "archived" } });
  }
}

/** Adds a new message after the loaded messages of its conversation (once; a second call does nothing). */
export function appendMessage(cache: ApolloCache, conversationId: string, message: { id: string }): void {
  cache.modify<{ messages: StoredConnection }>({
    id: cache.identify({ __typename: "Conversation", id: conversationId }),
    fields: {
      messages(value, { toReference, readField }) {
        const existing = value as unknown as StoredConnection;
        if (!existing?.edges) return value;
        if (existing.edges.some((e) => readField("id", e.node) === message.id)) return value;
        const ref = toReference({ __typename: "Message", id: message.id });
        if (!ref) return value;
        return {
          ...existing,
          edges: [
            ...existing.edges,
            { __typename: "ConversationMessagesConnectionEdge", cursor: null, node: ref },
          ],
          ...(existing.totalCount === undefined ? {} : { totalCount: existing.totalCount + 1 }),
        } as never;
      },
    },
  });
}

/**
 * Drops the loaded pages of a conversation's messages: after `switchBranch` (call it from the mutation's
 * `update`), or when a new version replaces the path after its parent. Views showing them ask the API again.
 */
export function dropMessagePages(cache: ApolloCache, conversationId: string): void {
  cache.evict({
    id: cache.identify({ __typename: "Conversation", id: conversationId }),
    fieldName: "messages",
  });
  cache.gc();
}

/**
 * Applies one event of a `sendMessage`, `editMessage`, `regenerateReply` or `messageStream` subscription to
 * the cache, so that views of the
 * conversation list and of the messages update as the reply streams. Apollo has already normalized the
 * objects the event carries (messages, conversations, tool calls); this adds what normalization cannot:
 * new messages in their conversation, the conversation at the top of the list, and streamed text.
 * Apply each event once, in `seq` order (resume with `messageStream(afterSeq:)` to avoid repeats).
 */
export function applyStreamEvent(cache: ApolloCache, event: StreamEventFragment): void {
  switch (event.__typename) {
    case "MessageCreated": {
      const { conversation } = event.message;
      // A new version (edit, regenerated reply, branch): the path after its parent changed.
      if (event.message.siblingIndex > 0) dropMessagePages(cache, conversation.id);
      else appendMessage(cache, conversation.id, event.message);
      moveConversationToTop(cache, conversation);
      return;
    }
    case "TextDelta":
      cache.modify<MessageFieldsFragment>({
        id: cache.identify({ __typename: "Message", id: event.messageId }),
        fields: { content: (content) => `${content}${event.delta}` },
      });
      return;
    case "ReasoningDelta":
      cache.modify<MessageFieldsFragment>({
        id: cache.identify({ __typename: "Message", id: event.messageId }),
        fields: { reasoning: (reasoning) => `${reasoning ?? ""}${event.delta}` },
      });
      return;
    case "ToolApprovalRequested":
      // The reply waits for a decision; the message's status follows with the next snapshot or completion.
      cache.modify<MessageFieldsFragment>({
        id: cache.identify({ __typename: "Message", id: event.messageId }),
        fields: { status: () => "AWAITING_APPROVAL" },
      });
      appendToolCall(cache, event.messageId, event.toolCall.id);
      return;
    case "ToolCallStarted":
      cache.modify<MessageFieldsFragment>({
        id: cache.identify({ __typename: "Message", id: event.messageId }),
        fields: { status: () => "STREAMING" },
      });
      appendToolCall(cache, event.messageId, event.toolCall.id);
      return;
    case "ToolCallCompleted":
      appendToolCall(cache, event.messageId, event.toolCall.id);
      return;
    default:
      // MessageSnapshot and MessageCompleted carry the whole message, which normalization has stored.
      return;
  }
}

/** Adds a tool call Apollo has normalized to its message's list, once. */
function appendToolCall(cache: ApolloCache, messageId: string, toolCallId: string): void {
  cache.modify<{ toolCalls: Reference[] }>({
    id: cache.identify({ __typename: "Message", id: messageId }),
    fields: {
      toolCalls(value, { readField, toReference }) {
        const calls = value as unknown as Reference[];
        if (calls.some((c) => readField("id", c) === toolCallId)) return value;
        const ref = toReference({ __typename: "ToolCall", id: toolCallId });
        return (ref ? [...calls, ref] : calls) as never;
      },
    },
  });
}

/** The key arguments a stored `conversations` list was loaded with (`conversations:{"archived":false,…}`). */
function listArgs(storeFieldName: string): {
  archived?: boolean;
  pinned?: boolean | null;
  tag?: string | null;
} {
  const at = storeFieldName.indexOf(":");
  return at === -1 ? {} : JSON.parse(storeFieldName.slice(at + 1));
}

/** A tag as the API stores and matches it (see `Conversation.tags`). */
const normalTag = (tag: string) => tag.normalize("NFC").replace(/\s+/g, " ").trim().toLowerCase();

/** Whether a conversation belongs in a list loaded with these arguments. */
function belongs(
  args: ReturnType<typeof listArgs>,
  c: Pick<ConversationSummaryFragment, "archivedAt" | "pinnedAt" | "tags">,
): boolean {
  if ((c.archivedAt !== null) !== Boolean(args.archived)) return false;
  if (args.pinned != null && (c.pinnedAt !== null) !== args.pinned) return false;
  return args.tag == null || c.tags.includes(normalTag(args.tag));
}

/** The fields that order the lists: pinned first (newest pin first), then the most recently active. */
type Ordered = Pick<ConversationSummaryFragment, "pinnedAt" | "lastActivityAt">;

/** Whether `a` lists before `b` (timestamps are ISO strings of one format: they compare as text). */
function listsBefore(a: Ordered, b: Ordered): boolean {
  if ((a.pinnedAt === null) !== (b.pinnedAt === null)) return a.pinnedAt !== null;
  if (a.pinnedAt !== null && b.pinnedAt !== null && a.pinnedAt !== b.pinnedAt) return a.pinnedAt > b.pinnedAt;
  return a.lastActivityAt > b.lastActivityAt;
}

/**
 * Puts a conversation where it now belongs in every cached list: taken out of those it left (archived,
 * unpinned from the pins, a tag removed), put in its place by the lists' order in those it belongs to
 * (unless that place is past the loaded pages: it comes with a later page). `created` counts it in the
 * lists' `totalCount`; a conversation that was only updated may have been counted on a page not loaded, so
 * only leaving a list changes the count then.
 */
function placeConversation(cache: ApolloCache, conversation: ConversationSummaryFragment, created: boolean) {
  cache.modify<{ conversations: StoredConnection }>({
    id: "ROOT_QUERY",
    fields: {
      conversations(value, { storeFieldName, toReference, readField }) {
        const existing = value as unknown as StoredConnection;
        if (!existing?.edges) return value;
        const others = existing.edges.filter((e) => readField("id", e.node) !== conversation.id);
        const wasThere = others.length !== existing.edges.length;
        const fits = belongs(listArgs(storeFieldName), conversation);
        const count = (delta: number) =>
          existing.totalCount === undefined ? {} : { totalCount: existing.totalCount + delta };
        if (!fits) return (wasThere ? { ...existing, edges: others, ...count(-1) } : value) as never;
        const at = others.findIndex((e) =>
          listsBefore(conversation, {
            pinnedAt: readField<string | null>("pinnedAt", e.node) ?? null,
            lastActivityAt: readField<string>("lastActivityAt", e.node) ?? "",
          }),
        );
        const ref = toReference({ __typename: "Conversation", id: conversation.id });
        const more = existing.pageInfo?.hasNextPage === true;
        if (!ref || (at === -1 && more)) return { ...existing, edges: others } as never;
        const place = at === -1 ? others.length : at;
        const moved = { __typename: "QueryConversationsConnectionEdge", cursor: null, node: ref };
        return {
          ...existing,
          edges: [...others.slice(0, place), moved, ...others.slice(place)],
          ...count(created && !wasThere ? 1 : 0),
        } as never;
      },
    },
  });
}

/**
 * Applies one `viewerEvents` event (select the SDK's `ViewerEvent` fragment) to the cache, so that every
 * open tab's lists follow changes made elsewhere: a new conversation joins the lists it belongs to, in its
 * place; an updated one (renamed, pinned, tagged, archived, new activity) moves to where it now belongs
 * (Apollo has already stored its fields); a deleted one is evicted; a reply starting or finishing sets its
 * conversation's `activeReplyId` (and the message's status, when cached). Call it from the subscription's
 * `next`: `client.subscribe({ query: ViewerEventsDocument }).subscribe(({ data }) => data &&
 * applyViewerEvent(client.cache, data.viewerEvents))`.
 */
export function applyViewerEvent(cache: ApolloCache, event: ViewerEventFragment): void {
  switch (event.__typename) {
    case "ConversationCreated":
    case "ConversationUpdated":
      // Null: deleted since; its ConversationDeleted follows.
      if (event.conversation)
        placeConversation(cache, event.conversation, event.__typename === "ConversationCreated");
      return;
    case "ConversationDeleted":
      removeConversationFromLists(cache, event.conversationId, "deleted");
      return;
    case "ReplyStarted":
      cache.modify<{ activeReplyId: string | null }>({
        id: cache.identify({ __typename: "Conversation", id: event.conversationId }),
        fields: { activeReplyId: () => event.messageId },
      });
      return;
    case "ReplyFinished":
      cache.modify<{ activeReplyId: string | null }>({
        id: cache.identify({ __typename: "Conversation", id: event.conversationId }),
        fields: { activeReplyId: (current) => (current === event.messageId ? null : current) },
      });
      cache.modify<MessageFieldsFragment>({
        id: cache.identify({ __typename: "Message", id: event.messageId }),
        fields: { status: () => event.status },
      });
      return;
  }
}
