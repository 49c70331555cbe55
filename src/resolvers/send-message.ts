import { randomUUID } from "node:crypto";
import type { MessageState, RunEvent } from "../agent/runs/events.js";
import { BadUserInputError, ClientError, ConflictError, NotFoundError } from "../core/errors.js";
import { parseGlobalId } from "../core/ids.js";
import { ownsConversation } from "../db/conversations.js";
import { isUniqueViolation } from "../db/errors.js";
import type { Message } from "../db/generated/prisma/client.js";
import { findOwnedMessage } from "../db/messages.js";
import { earlierReplyId, insertExchange, type Placement } from "../db/sends.js";
import type { ReplySlot } from "../limits/rate-limiter.js";
import type { Context } from "./context.js";
import { requireViewer } from "./context.js";
import { checkSendInput, titleFromMessage } from "./send-input.js";
import { serveReply } from "./stream.js";

/** `sendMessage`'s input as the schema gives it. */
export interface SendMessageInput {
  conversationId?: string | null;
  content: string;
  clientMessageId?: string | null;
  model?: string | null;
  parentMessageId?: string | null;
}

/** One send, checked: where its messages go and what they hold. */
export interface CheckedSend {
  /** An existing conversation, or null for a new one. */
  conversationId: string | null;
  placement: Placement;
  /** The user's new message, or null when the reply answers an earlier one (regenerate). */
  user: { content: string; clientMessageId: string | null } | null;
  model: string | null;
}

/** The saved exchange: either new messages to start a run for, or the reply an earlier send created. */
type Exchange =
  | { kind: "new"; user: MessageState | null; assistant: MessageState }
  | { kind: "existing"; replyId: string };

/**
 * `sendMessage`: validates and authorizes, then {@link startSend}. `parentMessageId` hangs the message under
 * another message of the conversation (a new branch there) instead of the active leaf.
 */
export async function sendMessage(ctx: Context, input: SendMessageInput): Promise<AsyncIterable<RunEvent>> {
  const viewer = requireViewer(ctx);
  const checked = checkSendInput(input, ctx.config);
  let conversationId = input.conversationId
    ? parseGlobalId(input.conversationId, "Conversation", "conversationId")
    : null;
  let placement: Placement = { kind: "leaf" };
  if (input.parentMessageId) {
    const parentId = parseGlobalId(input.parentMessageId, "Message", "parentMessageId");
    const parent = await findOwnedMessage(ctx.prisma, viewer.id, parentId);
    if (!parent) throw new NotFoundError("Message");
    if (conversationId !== null && parent.conversationId !== conversationId)
      throw new BadUserInputError(
        "parentMessageId names a message of another conversation",
        "parentMessageId",
      );
    conversationId = parent.conversationId;
    placement = { kind: "under", parentId };
  }
  return startSend(ctx, {
    conversationId,
    placement,
    user: { content: checked.content, clientMessageId: checked.clientMessageId },
    model: checked.model,
  });
}

/**
 * Starts a checked send: checks the stream cap and the rate limits and quotas, saves the new messages in one
 * statement, starts the reply, and streams its events. The same `clientMessageId` from the same user again
 * attaches to the first reply instead of writing anything (and is not counted as a new message), also when
 * the first send started a conversation. Shared by `sendMessage`, `editMessage` and `regenerateReply`.
 */
export async function startSend(ctx: Context, send: CheckedSend): Promise<AsyncIterable<RunEvent>> {
  const viewer = requireViewer(ctx);
  if (!ctx.runs.isAccepting)
    throw new ClientError("INTERNAL", "The server is shutting down; send again shortly");
  const key = send.user?.clientMessageId ?? null;
  const lease = await ctx.streams.reserve(viewer.id);
  let slot: ReplySlot | undefined;
  let exchange: Exchange;
  try {
    const earlier = key ? await findEarlierSend(ctx.prisma, viewer.id, key) : null;
    if (earlier?.kind === "existing") return serveReply(ctx, lease, earlier.replyId, 0);
    const assistantId = randomUUID();
    slot = await ctx.limits.beforeSend(ctx.prisma, viewer.id, assistantId);
    exchange = await ctx.sends.run(() => saveExchange(ctx, viewer.id, send, assistantId));
  } catch (error) {
    await Promise.all([lease.release(), slot?.release()]);
    throw error;
  }
  if (exchange.kind === "existing") {
    await slot.release();
    return serveReply(ctx, lease, exchange.replyId, 0);
  }
  let firstDelivered = () => {};
  const delivered = new Promise<void>((resolve) => {
    firstDelivered = resolve;
  });
  const run = ctx.runs.start(exchange.user, exchange.assistant, {
    model: send.model ?? undefined,
    // The first event reaches the client before the model is called (bounded, for clients that never read).
    holdModelUntil: Promise.race([delivered, delay(1_000)]),
    logger: ctx.logger,
  });
  const held = slot;
  void run.done.finally(() => held.release());
  return serveReply(ctx, lease, exchange.assistant.id, 0, firstDelivered);
}

/**
 * Saves the new messages in one statement (see `insertExchange`). When the existing conversation cannot be
 * claimed, an earlier send with the same `clientMessageId` is attached to, or the conversation is missing
 * (`NOT_FOUND`), busy or changed meanwhile (`CONFLICT`).
 */
async function saveExchange(
  ctx: Context,
  ownerId: string,
  send: CheckedSend,
  assistantId: string,
): Promise<Exchange> {
  const key = send.user?.clientMessageId ?? null;
  let rows: Message[];
  try {
    rows = await insertExchange(ctx.prisma, {
      ownerId,
      conversation:
        send.conversationId === null
          ? { title: titleFromMessage(send.user?.content ?? "", ctx.config.limits.titleLength) }
          : { id: send.conversationId },
      placement: send.placement,
      user: send.user,
      model: send.model,
      assistantId,
    });
  } catch (error) {
    // The same key as a send committed since the check in startSend (a new conversation's statement
    // is undone whole): attach to that one.
    const earlier = key && isUniqueViolation(error) ? await findEarlierSend(ctx.prisma, ownerId, key) : null;
    if (earlier) return earlier;
    throw error;
  }
  // New messages have no tool calls.
  const saved = rows.map((row) => ({ ...row, toolCalls: [] }));
  const assistant = saved.find((m) => m.id === assistantId);
  if (assistant) {
    return { kind: "new", user: saved.find((m) => m.id !== assistantId) ?? null, assistant };
  }
  if (send.conversationId === null) throw new Error("A new conversation's messages were not saved");
  // A concurrent send with the same key may have just committed: attach to it.
  const earlier = key ? await findEarlierSend(ctx.prisma, ownerId, key) : null;
  if (earlier) return earlier;
  if (!(await ownsConversation(ctx.prisma, ownerId, send.conversationId)))
    throw new NotFoundError("Conversation");
  throw new ConflictError("A reply is already being written in this conversation; wait for it or stop it");
}

/** The reply an earlier send with this `clientMessageId` created, to attach to instead of sending again. */
async function findEarlierSend(
  prisma: Context["prisma"],
  ownerId: string,
  clientMessageId: string,
): Promise<Exchange | null> {
  const replyId = await earlierReplyId(prisma, ownerId, clientMessageId);
  return replyId === null ? null : { kind: "existing", replyId };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
