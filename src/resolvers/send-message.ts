import { randomUUID } from "node:crypto";
import type { MessageState, RunEvent } from "../agent/events.js";
import type { Context } from "../context.js";
import { requireViewer } from "../context.js";
import { ClientError, ConflictError, NotFoundError } from "../errors.js";
import { parseGlobalId } from "../ids.js";
import type { ReplySlot } from "../limits/rate-limiter.js";
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
 * user's message and an assistant placeholder in one transaction, starts the reply, and streams its events.
 * The same `clientMessageId` again attaches to the first reply instead of writing anything (and is not
 * counted as a new message).
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
    const earlier =
      conversationId && checked.clientMessageId
        ? await findEarlierSend(ctx.prisma, conversationId, viewer.id, checked.clientMessageId)
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
  void run.done.finally(() => held.release().catch(() => {}));
  return serveReply(ctx, lease, exchange.assistant.id, 0, firstDelivered);
}

async function saveExchange(
  ctx: Context,
  ownerId: string,
  conversationId: string | null,
  input: ReturnType<typeof checkSendInput>,
  assistantId: string,
): Promise<Exchange> {
  const now = new Date();
  return ctx.prisma.$transaction(async (tx) => {
    let conversation: { id: string; messageCount: number };
    if (conversationId === null) {
      conversation = await tx.conversation.create({
        data: {
          ownerId,
          title: titleFromMessage(input.content, ctx.config.limits.titleLength),
          messageCount: 2,
          activeReplyId: assistantId,
          activityAt: now,
        },
      });
    } else {
      if (input.clientMessageId) {
        const earlier = await findEarlierSend(tx, conversationId, ownerId, input.clientMessageId);
        if (earlier) return earlier;
      }
      // The conditional update takes the conversation's row lock: one running reply per conversation,
      // across every instance, and positions allocated without gaps or races.
      const claimed = await tx.conversation.updateManyAndReturn({
        where: { id: conversationId, ownerId, activeReplyId: null },
        data: { messageCount: { increment: 2 }, activityAt: now, activeReplyId: assistantId },
        select: { id: true, messageCount: true },
      });
      const [row] = claimed;
      if (!row) {
        // A concurrent send with the same key may have just committed: attach to it.
        const earlier = input.clientMessageId
          ? await findEarlierSend(tx, conversationId, ownerId, input.clientMessageId)
          : null;
        if (earlier) return earlier;
        const exists = await tx.conversation.count({ where: { id: conversationId, ownerId } });
        if (exists === 0) throw new NotFoundError("Conversation");
        throw new ConflictError(
          "A reply is already being written in this conversation; wait for it or stop it",
        );
      }
      conversation = row;
    }
    const common = { conversationId: conversation.id, ownerId, createdAt: now };
    // New messages have no tool calls: asking Prisma to include them would cost a SELECT after each INSERT.
    const user = await tx.message.create({
      data: {
        ...common,
        position: conversation.messageCount - 1,
        role: "USER",
        content: input.content,
        clientMessageId: input.clientMessageId,
      },
    });
    const assistant = await tx.message.create({
      data: {
        ...common,
        id: assistantId,
        position: conversation.messageCount,
        role: "ASSISTANT",
        status: "STREAMING",
        model: input.model,
      },
    });
    return { kind: "new", user: { ...user, toolCalls: [] }, assistant: { ...assistant, toolCalls: [] } };
  });
}

type Tx = Parameters<Parameters<Context["prisma"]["$transaction"]>[0]>[0];

async function findEarlierSend(
  tx: Tx | Context["prisma"],
  conversationId: string,
  ownerId: string,
  clientMessageId: string,
): Promise<Exchange | null> {
  const user = await tx.message.findFirst({
    where: { conversationId, ownerId, clientMessageId },
    select: { position: true },
  });
  if (!user) return null;
  const reply = await tx.message.findUniqueOrThrow({
    where: { conversationId_position: { conversationId, position: user.position + 1 } },
    select: { id: true },
  });
  return { kind: "existing", replyId: reply.id };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
