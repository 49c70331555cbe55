/**
 * What the REST adapter needs from the domain, given by the composition root over the same functions the
 * GraphQL resolvers call (the adapter sits below them and cannot import them). `C` is the per-request
 * context, made by the same context factory as a GraphQL operation's (authentication, rate limits). Ids are
 * database UUIDs, as the seed's REST API used.
 */
export interface RestOperations<C> {
  listConversations(ctx: C, limit: number): Promise<ConversationRow[]>;
  createConversation(ctx: C, title: string | null): Promise<ConversationRow>;
  renameConversation(ctx: C, id: string, title: string): Promise<ConversationRow>;
  deleteConversation(ctx: C, id: string): Promise<void>;
  /** The `limit` messages before `before` (or the newest), oldest first, and whether older ones exist. */
  listMessages(
    ctx: C,
    conversationId: string,
    page: { before: string | null; limit: number },
  ): Promise<{ messages: MessageRow[]; hasMore: boolean }>;
  /** Conversations whose messages or title match, best first, each with its best snippet. */
  searchConversations(ctx: C, query: string): Promise<SearchRow[]>;
  /** Saves the message (in a new conversation without an id) and streams the reply's text. */
  sendMessage(ctx: C, conversationId: string | null, message: string): Promise<ReplyStream>;
  /** Stops the conversation's running reply (CANCELLED, its text kept); CONFLICT when none runs. */
  stopReply(ctx: C, conversationId: string): Promise<MessageRow>;
}

export interface ConversationRow {
  id: string;
  title: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface MessageRow {
  id: string;
  conversationId: string;
  role: string;
  content: string;
  createdAt: Date;
}

export interface SearchRow {
  conversation: ConversationRow;
  messageId: string;
  snippet: string;
}

/** A reply being written: its ids, and its text as it streams, ending with the final state. */
export interface ReplyStream {
  conversationId: string;
  messageId: string;
  events: AsyncIterable<{ text: string } | { done: { status: string; error: string | null } }>;
}
