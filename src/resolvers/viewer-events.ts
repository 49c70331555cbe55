import type { ViewerEvent, ViewerSubscription } from "../agent/runs/viewer-events.js";
import { NotFoundError } from "../core/errors.js";
import { type ConversationSelection, findOwnedConversation } from "../db/conversations.js";
import type { Context } from "./context.js";
import { requireViewer } from "./context.js";

/** Events a subscriber may leave unread before its stream is ended (it reads its list again on return). */
const MAX_PENDING_EVENTS = 1_000;
/** Longest wait for the instance's Redis subscription before the stream is answered anyway. */
const READY_WAIT_MS = 2_000;

/** Tells every tab of the viewer, on every instance, that one of their conversations changed. */
export function tellViewer(ctx: Context, event: ViewerEvent): void {
  ctx.events.publish(requireViewer(ctx).id, event);
}

/** The changed conversation, told to the viewer's tabs; `NOT_FOUND` when there was none to change. */
export function updated<T extends { id: string }>(ctx: Context, conversation: T | null): T {
  if (!conversation) throw new NotFoundError("Conversation");
  tellViewer(ctx, { type: "ConversationUpdated", conversationId: conversation.id });
  return conversation;
}

/**
 * `viewerEvents`: what changes for the viewer, from any tab, device or instance, until the client leaves.
 * It takes one of the user's stream slots like any subscription and ends after `STREAM_MAX_DURATION_MS`,
 * but not when idle (quiet is its normal state; the transports' keep-alives hold it open); it also ends when
 * events may have been lost (Redis went away), after those it holds. It is answered once this instance
 * listens for the user, so a change made after the response started is never missed.
 */
export async function viewerEvents(ctx: Context): Promise<AsyncIterableIterator<ViewerEvent>> {
  const viewer = requireViewer(ctx);
  const lease = await ctx.streams.reserve(viewer.id);
  let subscription: ViewerSubscription | undefined;
  const queue = new EventQueue<ViewerEvent>(MAX_PENDING_EVENTS, () => subscription?.close());
  subscription = ctx.events.subscribe(
    viewer.id,
    (event) => queue.push(event),
    () => queue.close(),
  );
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    subscription.ready,
    new Promise((resolve) => (timer = setTimeout(resolve, READY_WAIT_MS))),
  ]);
  clearTimeout(timer);
  return ctx.streams.serve(lease, queue, ctx.request.signal, undefined, false);
}

/** Reads of an event's conversation, shared by its subscribers on this instance (by viewer and selection). */
const reads = new WeakMap<ViewerEvent, Map<string, ReturnType<typeof findOwnedConversation>>>();

/**
 * The conversation an event names, read fresh with the subscriber's selection and as the subscriber: null
 * when it was deleted meanwhile, and never another user's. One statement per event, shared by the user's
 * tabs on this instance that select the same fields (each event object is handed to all of them).
 */
export function eventConversation(
  ctx: Context,
  event: Extract<ViewerEvent, { type: "ConversationCreated" | "ConversationUpdated" }>,
  query: ConversationSelection,
) {
  const viewerId = requireViewer(ctx).id;
  const key = `${viewerId}\n${JSON.stringify(query)}`;
  let byQuery = reads.get(event);
  if (!byQuery) {
    byQuery = new Map();
    reads.set(event, byQuery);
  }
  let read = byQuery.get(key);
  if (!read) {
    read = findOwnedConversation(ctx.prisma, viewerId, event.conversationId, query);
    byQuery.set(key, read);
  }
  return read;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * Pushed values, read in order until {@link close} (what was pushed before is still read). A reader that
 * falls `capacity` behind is ended instead of buffering without bound: the events name what changed, so
 * skipping some would leave its list wrong unnoticed.
 */
export class EventQueue<T> implements AsyncIterableIterator<T> {
  private readonly pending: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private ended = false;

  constructor(
    private readonly capacity: number,
    /** Called once when the queue ends (read to its end, returned, or overflowed). */
    private readonly onEnd: () => void,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  push(value: T): void {
    if (this.ended) return;
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = null;
      waiting({ done: false, value });
    } else if (this.pending.length >= this.capacity) this.close();
    else this.pending.push(value);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.pending.length > 0) return Promise.resolve({ done: false, value: this.pending.shift() as T });
    if (this.ended) return Promise.resolve(DONE);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    this.pending.length = 0;
    return Promise.resolve(DONE);
  }

  /** Takes no more values; the reader gets those pushed before, then the end. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd();
    // Someone waits only when nothing is pending.
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.(DONE);
  }
}
