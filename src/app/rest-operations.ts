import { encodeGlobalID } from "@pothos/plugin-relay";
import type { RunEvent } from "../agent/runs/events.js";
import { ConflictError } from "../core/errors.js";
import { conversationsByIds } from "../db/conversations.js";
import { searchMessages } from "../db/search/search.js";
import type { ReplyStream, RestOperations } from "../http/rest/operations.js";
import { type Context, requireViewer } from "../resolvers/context.js";
import {
  createConversation,
  deleteConversation,
  getConversation,
  listConversations,
  renameConversation,
} from "../resolvers/conversations.js";
import { listMessages } from "../resolvers/messages.js";
import { sendMessage } from "../resolvers/send-message.js";
import { stopGeneration } from "../resolvers/stream.js";

/** REST ids are database UUIDs; the resolvers take the GraphQL global ids made from them. */
const conversationId = (id: string) => encodeGlobalID("Conversation", id);
const SEARCH_RESULTS = 20;

/** The REST API's operations: the GraphQL resolvers' own functions, called with database ids. */
export const restOperations: RestOperations<Context> = {
  listConversations: (ctx, limit) => listConversations(ctx, { first: limit }, { take: limit, skip: 0 }),
  createConversation: (ctx, title) => createConversation(ctx, { title }),
  renameConversation: (ctx, id, title) => renameConversation(ctx, { id: conversationId(id), title }),
  async deleteConversation(ctx, id) {
    await deleteConversation(ctx, conversationId(id));
  },
  async listMessages(ctx, id, { before, limit }) {
    await getConversation(ctx, conversationId(id), { select: { id: true } });
    // One more than asked, backwards from `before`: whether it exists is `has_more`.
    const rows = await listMessages(
      ctx,
      id,
      { last: limit },
      { take: -(limit + 1), skip: before ? 1 : 0, ...(before ? { cursor: { id: before } } : {}) },
    );
    const hasMore = rows.length > limit;
    return { messages: hasMore ? rows.slice(1) : rows, hasMore };
  },
  async searchConversations(ctx, query) {
    const viewer = requireViewer(ctx);
    const { hits } = await searchMessages(ctx.prisma, viewer.id, { query, first: SEARCH_RESULTS });
    const best = new Map<string, (typeof hits)[number]>();
    for (const hit of hits) if (!best.has(hit.conversationId)) best.set(hit.conversationId, hit);
    // One statement for the page's conversations, in the hits' order.
    const rows = await conversationsByIds(ctx.prisma, viewer.id, [...best.keys()], {});
    const byId = new Map(rows.map((row) => [row.id, row]));
    return [...best.values()].flatMap((hit) => {
      const conversation = byId.get(hit.conversationId);
      return conversation ? [{ conversation, messageId: hit.messageId, snippet: hit.snippet }] : [];
    });
  },
  async sendMessage(ctx, id, message) {
    const events = await sendMessage(ctx, {
      conversationId: id ? conversationId(id) : null,
      content: message,
    });
    return replyStream(events[Symbol.asyncIterator]());
  },
  async stopReply(ctx, id) {
    const conversation = await getConversation(ctx, conversationId(id), {});
    if (!conversation.activeReplyId)
      throw new ConflictError("No reply is being written in this conversation");
    return stopGeneration(ctx, encodeGlobalID("Message", conversation.activeReplyId));
  },
};

/** Reads the stream up to the reply's `MessageCreated` (its ids), then gives its text and its end. */
async function replyStream(events: AsyncIterator<RunEvent>): Promise<ReplyStream> {
  for (;;) {
    const next = await events.next();
    if (next.done) throw new Error("The reply's stream ended before the reply was created");
    const event = next.value;
    if (
      (event.type === "MessageCreated" || event.type === "MessageSnapshot") &&
      event.message.role === "ASSISTANT"
    )
      return {
        conversationId: event.message.conversationId,
        messageId: event.message.id,
        events: textOf(events, event.message.id),
      };
  }
}

async function* textOf(events: AsyncIterator<RunEvent>, messageId: string): ReplyStream["events"] {
  try {
    for (;;) {
      const next = await events.next();
      if (next.done) return;
      const event = next.value;
      if (event.type === "TextDelta" && event.messageId === messageId) yield { text: event.delta };
      if (event.type === "MessageCompleted" && event.message.id === messageId) {
        yield { done: { status: event.message.status, error: event.message.error } };
        return;
      }
    }
  } finally {
    await events.return?.();
  }
}
