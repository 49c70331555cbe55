import { type SearchResult, searchViewerMessages } from "../resolvers/search.js";
import { builder } from "./builder.js";
import { ConversationRef } from "./conversation.js";
import { MessageRef } from "./message.js";

const SearchMatchEnum = builder.enumType("SearchMatch", {
  description: "How a search result matched the query.",
  values: {
    WORDS: { description: "Full-text: the message's words (stemmed) match the query." },
    TEXT: {
      description:
        "The text rule: the message contains every term, also inside words (fragments, identifiers).",
    },
    TITLE: {
      description:
        "Only the conversation's title matches: the result is the first message of the conversation's active path.",
    },
  } as const,
});

/** One search result: the message, its conversation, the matching passage and its relevance. */
export const MessageSearchResultRef = builder.objectRef<SearchResult>("MessageSearchResult").implement({
  description: "A message that matches a search, with its conversation, the matching passage and its rank.",
  fields: (t) => ({
    message: t.field({ type: MessageRef, resolve: (result) => result.message }),
    conversation: t.field({ type: ConversationRef, resolve: (result) => result.conversation }),
    snippet: t.exposeString("snippet", {
      description:
        "The matching passage as HTML: the message text escaped, matches wrapped in <mark></mark>. Safe to put in a page.",
    }),
    rank: t.exposeFloat("rank", {
      description: "Relevance: higher is better; equal ranks come newest first.",
    }),
    match: t.expose("match", { type: SearchMatchEnum }),
    isOnActivePath: t.exposeBoolean("isOnActivePath", {
      description: "Whether the message is on its conversation's active path (false: on another branch).",
    }),
  }),
});

const MessageSearchConnection = builder.connectionObject<
  typeof MessageSearchResultRef,
  { totalCount: () => Promise<number> }
>({
  type: MessageSearchResultRef,
  name: "MessageSearchConnection",
  fields: (t) => ({
    totalCount: t.int({
      description:
        "How many results all pages hold together. Free for ranked searches; a search of only stop words costs one more scan when this is asked.",
      resolve: (connection) => connection.totalCount(),
    }),
  }),
});

builder.queryField("searchMessages", (t) =>
  t.field({
    type: MessageSearchConnection,
    description:
      "Full-text search over the viewer's messages and conversation titles, best match first. Web-search syntax: " +
      'words, "quoted phrases", `or`, `-excluded`; fragments of words and identifiers match too (README "Search").',
    args: {
      query: t.arg.string({ required: true }),
      conversationId: t.arg.id({ description: "Only this conversation (archived or not)." }),
      first: t.arg.int({ description: "Page size, at most 100 (default 20)." }),
      after: t.arg.string(),
      includeArchived: t.arg.boolean({
        defaultValue: false,
        description: "Also search archived conversations.",
      }),
      activePathOnly: t.arg.boolean({
        defaultValue: false,
        description: "Only messages on their conversation's active path (not other branches).",
      }),
    },
    resolve: (_root, args, ctx, info) => searchViewerMessages(ctx, args, info),
  }),
);
