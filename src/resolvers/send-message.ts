import { isFinal, type MessageState, type RunEvent } from "../agent/runs/events.js";
import { answerWhenFree } from "../agent/runs/queue.js";
import { BadUserInputError, ClientError, ConflictError, NotFoundError } from "../core/errors.js";
import { newUuid, parseGlobalId } from "../core/ids.js";
import { linkAttachments } from "../db/attachments.js";
import { type Message, withToolCalls } from "../db/columns.js";
import { activeReplyOf, DEFAULT_SETTINGS, ownsConversation } from "../db/conversations.js";
import { isUniqueViolation } from "../db/errors.js";
import { findOwnedMessage } from "../db/messages.js";
import { earlierReplyId, insertExchange, insertQueued, type Placement } from "../db/sends.js";
import type { ReplySlot } from "../limits/rate-limiter.js";
import { checkAttachmentIds } from "./attachments.js";
import type { Context } from "./context.js";
import { requireViewer } from "./context.js";
import { checkSendInput, titleFromMessage } from "./send-input.js";
import { replyEvents, serveReply } from "./stream.js";
import { tellViewer } from "./viewer-events.js";

/** What a send does when a reply is already running in the conversation. */
export type BusyPolicy = "REJECT" | "ENQUEUE" | "INTERRUPT";

/** `sendMessage`'s input as the schema gives it. */
export interface SendMessageInput {
  conversationId?: string | null;
  content: string;
  clientMessageId?: string | null;
  model?: string | null;
  parentMessageId?: string | null;
  onBusy?: BusyPolicy | null;
  attachmentIds?: readonly string[] | null;
}

/** One send, checked: where its messages go and what they hold. */
export interface CheckedSend {
  /** An existing conversation, or null for a new one. */
  conversationId: string | null;
  placement: Placement;
  /**
   * The user's new message and the attachments (database ids, checked) it sends, or null when the reply
   * answers an earlier one (regenerate).
   */
  user: { content: string; clientMessageId: string | null; attachmentIds: string[] } | null;
  model: string | null;
  /** While a reply runs: refuse (`CONFLICT`), queue the message, or stop that reply first. */
  onBusy?: BusyPolicy;
}

/** The saved exchange: either new messages to start a run for, or the reply an earlier send created. */
type Exchange =
  | { kind: "new"; user: MessageState | null; assistant: MessageState }
  | { kind: "queued"; user: MessageState }
  | { kind: "existing"; replyId: string };

/**
 * `sendMessage`: validates and authorizes, then {@link startSend}. `parentMessageId` hangs the message under
 * another message of the conversation (a new branch there) instead of the active leaf.
 */
export async function sendMessage(ctx: Context, input: SendMessageInput): Promise<AsyncIterable<RunEvent>> {
  const viewer = requireViewer(ctx);
  const checked = checkSendInput(input, ctx.config, (input.attachmentIds?.length ?? 0) > 0);
  const attachmentIds = await checkAttachmentIds(ctx, input.attachmentIds ?? []);
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
    user: { content: checked.content, clientMessageId: checked.clientMessageId, attachmentIds },
    model: checked.model,
    onBusy: input.onBusy ?? "REJECT",
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
    const assistantId = newUuid();
    slot = await ctx.limits.beforeSend(viewer.id, assistantId);
    exchange = await ctx.sends.run(() => saveExchange(ctx, viewer.id, send, assistantId));
  } catch (error) {
    await Promise.all([lease.release(), slot?.release()]);
    throw error;
  }
  if (exchange.kind === "existing") {
    await slot.release();
    return serveReply(ctx, lease, exchange.replyId, 0);
  }
  // Starting the reply (its run, first events, the model's request) is the heavier half of a send: in a turn
  // of its own, ahead of new requests, so that a burst of sends does not hold up other replies' chunks.
  await ctx.lane.turn("ahead");
  // The run tells of the reply itself (ReplyStarted); the list needs the conversation's new place.
  const conversationId =
    exchange.kind === "queued" ? exchange.user.conversationId : exchange.assistant.conversationId;
  tellViewer(ctx, {
    type: send.conversationId === null ? "ConversationCreated" : "ConversationUpdated",
    conversationId,
  });
  if (exchange.kind === "queued") {
    // The message counted against the minute's messages; its reply is not running yet, so no slot is held.
    await slot.release();
    const started = answerWhenFree(ctx.prisma, ctx.runs, exchange.user.id, ctx.logFields).catch((error) => {
      ctx.logger.error(
        { ...ctx.logFields, err: error, messageId: exchange.user.id },
        "could not answer a queued message",
      );
      return null;
    });
    return ctx.streams.serve(lease, queuedEvents(ctx, exchange.user, started), ctx.request.signal, isFinal);
  }
  let firstDelivered = () => {};
  const delivered = new Promise<void>((resolve) => {
    firstDelivered = resolve;
  });
  ctx.runs.start(exchange.user, exchange.assistant, {
    model: send.model ?? undefined,
    // A conversation this send started has the default settings: nothing to read.
    settings: send.conversationId === null ? DEFAULT_SETTINGS : undefined,
    userSentFiles: send.user ? send.user.attachmentIds.length > 0 : undefined,
    // The first event reaches the client before the model is called (bounded, for clients that never read).
    holdModelUntil: Promise.race([delivered, delay(1_000)]),
    logFields: ctx.logFields,
    held: slot,
  });
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
  const tokenQuota = ctx.limits.tokenQuota();
  // A busy conversation is retried after an INTERRUPT's stop or an ENQUEUE that found it idle again.
  for (let attempt = 0; ; attempt++) {
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
        tokenQuota,
      });
    } catch (error) {
      // The same key as a send committed since the check in startSend (a new conversation's statement
      // is undone whole): attach to that one.
      const earlier =
        key && isUniqueViolation(error) ? await findEarlierSend(ctx.prisma, ownerId, key) : null;
      if (earlier) return earlier;
      throw error;
    }
    // New messages have no tool calls.
    const saved = rows.map((row) => withToolCalls(row, []));
    const assistant = saved.find((m) => m.id === assistantId);
    if (assistant) {
      const user = saved.find((m) => m.id !== assistantId) ?? null;
      if (user && send.user) await linkAttachments(ctx.prisma, ownerId, user.id, send.user.attachmentIds);
      return { kind: "new", user, assistant };
    }
    // Nothing saved: the quota first (checked by the statement), then the conversation's state.
    await ctx.limits.refuseOverQuota(ctx.prisma, ownerId, tokenQuota);
    const conversationId = send.conversationId;
    if (conversationId === null) throw new Error("A new conversation's messages were not saved");
    // A concurrent send with the same key may have just committed: attach to it.
    const earlier = key ? await findEarlierSend(ctx.prisma, ownerId, key) : null;
    if (earlier) return earlier;
    if (!(await ownsConversation(ctx.prisma, ownerId, conversationId)))
      throw new NotFoundError("Conversation");
    const policy = send.onBusy ?? "REJECT";
    if (attempt < 3 && policy === "INTERRUPT") {
      const running = await activeReplyOf(ctx.prisma, conversationId);
      if (running) await ctx.runs.stop(running);
      continue;
    }
    if (attempt < 3 && policy === "ENQUEUE" && send.user && send.placement.kind === "leaf") {
      const queued = await insertQueued(ctx.prisma, {
        ownerId,
        conversationId,
        content: send.user.content,
        clientMessageId: send.user.clientMessageId,
        model: send.model,
      });
      if (queued) {
        await linkAttachments(ctx.prisma, ownerId, queued.id, send.user.attachmentIds);
        return { kind: "queued", user: withToolCalls(queued, []) };
      }
      continue;
    }
    if (policy === "ENQUEUE" && send.placement.kind !== "leaf")
      throw new ConflictError(
        "A reply is being written in this conversation, and only a message after the active leaf can wait " +
          "for it (ENQUEUE): send without parentMessageId to queue it, or stop the reply first",
      );
    throw new ConflictError("A reply is already being written in this conversation; wait for it or stop it");
  }
}

/**
 * The stream of a queued send: its message at once (`MessageCreated`, seq 0, status `QUEUED`), then, when its
 * turn comes, its reply's events to `MessageCompleted`.
 */
async function* queuedEvents(
  ctx: Context,
  user: MessageState,
  started: Promise<string | null>,
): AsyncGenerator<RunEvent> {
  yield { type: "MessageCreated", seq: 0, message: user };
  // A client that leaves while the message waits ends its stream at once; the message is still answered.
  const signal = ctx.request.signal;
  const left = new Promise<null>((resolve) => {
    if (signal.aborted) resolve(null);
    signal.addEventListener("abort", () => resolve(null), { once: true });
  });
  const replyId = await Promise.race([started, left]);
  if (replyId) yield* replyEvents(ctx, replyId, 0);
}

/** The reply an earlier send with this `clientMessageId` created, to attach to instead of sending again. */
async function findEarlierSend(
  prisma: Context["prisma"],
  ownerId: string,
  clientMessageId: string,
): Promise<Exchange | null> {
  const earlier = await earlierReplyId(prisma, ownerId, clientMessageId);
  if (earlier === null) return null;
  if (earlier.replyId === null)
    throw new ConflictError("That message is queued: its reply starts when the running one ends");
  return { kind: "existing", replyId: earlier.replyId };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
