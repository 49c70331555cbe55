import { randomUUID } from "node:crypto";
import type { MessageState, RunEvent } from "../agent/runs/events.js";
import { ClientError, ConflictError, NotFoundError } from "../core/errors.js";
import { parseGlobalId } from "../core/ids.js";
import { ownsConversation } from "../db/conversations.js";
import { isUniqueViolation } from "../db/errors.js";
import type { Message } from "../db/generated/prisma/client.js";
import { earlierReplyId, insertExchange } from "../db/sends.js";
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
}

/** The saved exchange: either new messages to start a run for, or the reply an earlier send created. */
type Exchange =
  | { kind: "new"; user: MessageState; assistant: MessageState }
  | { kind: "existing"; replyId: string };

/**
 * `sendMessage`: validates and authorizes, checks the stream cap and the rate limits and quotas, saves the
 * user's message and an assistant placeholder in one statement, starts the reply, and streams its events.
 * The same `clientMessageId` from the same user again attaches to the first reply instead of writing
 * anything (and is not counted as a new message), also when the first send started a conversation.
 */
export async function sendMessage(ctx: Context, input: SendMessageInput): Promise<AsyncIterable<RunEvent>> {
  const viewer = requireViewer(ctx);
  const checked = checkSendInput(input, ctx.config);
  const conversationId = input.conversationId
    ? parseGlobalId(input.conversationId, "Conversation", "conversationId")
    : null;
  if (!ctx.runs.isAccepting)
    throw new ClientError("INTERNAL", "The server is shutting down; send again shortly");
  const lease = await ctx.streams.reserve(viewer.id);
  let slot: ReplySlot | undefined;
  let exchange: Exchange;
  try {
    const earlier = checked.clientMessageId
      ? await findEarlierSend(ctx.prisma, viewer.id, checked.clientMessageId)
      : null;
    if (earlier?.kind === "existing") return serveReply(ctx, lease, earlier.replyId, 0);
    const assistantId = randomUUID();
    slot = await ctx.limits.beforeSend(ctx.prisma, viewer.id, assistantId);
    exchange = await ctx.sends.run(() => saveExchange(ctx, viewer.id, conversationId, checked, assistantId));
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
    model: checked.model ?? undefined,
    // The first event reaches the client before the model is called (bounded, for clients that never read).
    holdModelUntil: Promise.race([delivered, delay(1_000)]),
    logger: ctx.logger,
  });
  const held = slot;
  void run.done.finally(() => held.release());
  return serveReply(ctx, lease, exchange.assistant.id, 0, firstDelivered);
}

/**
 * Saves the user's message and the assistant's placeholder in one statement (see `insertExchange`). When
 * the existing conversation cannot be claimed, an earlier send with the same `clientMessageId` is attached
 * to, or the conversation is missing (`NOT_FOUND`) or busy (`CONFLICT`).
 */
async function saveExchange(
  ctx: Context,
  ownerId: string,
  conversationId: string | null,
  input: ReturnType<typeof checkSendInput>,
  assistantId: string,
): Promise<Exchange> {
  let rows: Message[];
  try {
    rows = await insertExchange(ctx.prisma, {
      ownerId,
      conversation:
        conversationId === null
          ? { title: titleFromMessage(input.content, ctx.config.limits.titleLength) }
          : { id: conversationId },
      content: input.content,
      clientMessageId: input.clientMessageId,
      model: input.model,
      assistantId,
    });
  } catch (error) {
    // The same key as a send committed since the check in sendMessage (a new conversation's statement
    // is undone whole): attach to that one.
    const earlier =
      input.clientMessageId && isUniqueViolation(error)
        ? await findEarlierSend(ctx.prisma, ownerId, input.clientMessageId)
        : null;
    if (earlier) return earlier;
    throw error;
  }
  const [user, assistant] = rows;
  if (user && assistant) {
    // New messages have no tool calls.
    return { kind: "new", user: { ...user, toolCalls: [] }, assistant: { ...assistant, toolCalls: [] } };
  }
  if (conversationId === null) throw new Error("A new conversation's messages were not saved");
  // A concurrent send with the same key may have just committed: attach to it.
  const earlier = input.clientMessageId
    ? await findEarlierSend(ctx.prisma, ownerId, input.clientMessageId)
    : null;
  if (earlier) return earlier;
  if (!(await ownsConversation(ctx.prisma, ownerId, conversationId))) throw new NotFoundError("Conversation");
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
