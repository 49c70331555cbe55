import type { Db } from "../../db/client.js";
import type { Message } from "../../db/columns.js";
import { endReplies, type ReplyEnd } from "../../db/replies.js";
import type { Logger } from "../../observability/logger.js";

/**
 * How long a batch may take before the next one starts beside it: longer than a batch takes on a busy
 * server (a few milliseconds), far shorter than the stalls it steps around (the reply whose end merges the
 * search index's pending list, about half a second at 16 MB; a row lock another transaction holds).
 */
const STALL_MS = 25;
/** Batches in flight at most, the first one included: each later one started because all before it stalled. */
const MAX_LANES = 4;

interface PendingEnd {
  readonly end: ReplyEnd;
  resolve(message: Message | null): void;
  reject(error: unknown): void;
}

/**
 * Stores the ends of this process's replies, all that end while a batch is being written together in the
 * next one (one `UPDATE … FROM unnest(…)`): one statement in flight, not one per reply. A finished reply's
 * words and trigrams go into the search index's pending list, and PostgreSQL spends far more on that when
 * many backends append to the list at once than when one does (per turn, 2.5 ms against 1.5 ms with 20
 * connections: BENCHMARKS.md, "Seventeenth session"). A batch that has not answered in {@link STALL_MS}
 * does not hold the others: the next one starts beside it.
 */
export class ReplyEnds {
  private queue: PendingEnd[] = [];
  /** When each batch in flight started (`performance.now()`). */
  private readonly inflight = new Set<{ startedAt: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
  ) {}

  /**
   * Stores a reply's end and frees its conversation; resolves with the stored message, or null when the end
   * was not this call's to store (the reply was deleted, or ended by another instance).
   */
  store(end: ReplyEnd): Promise<Message | null> {
    return new Promise((resolve, reject) => {
      this.queue.push({ end, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.queue.length === 0 || this.timer) return;
    const now = performance.now();
    let youngest = Number.NEGATIVE_INFINITY;
    for (const batch of this.inflight) youngest = Math.max(youngest, batch.startedAt);
    if (this.inflight.size >= MAX_LANES) return; // one ending starts the next
    if (now - youngest < STALL_MS) {
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.pump();
        },
        youngest + STALL_MS - now,
      );
      return;
    }
    const batch = this.queue;
    this.queue = [];
    const lane = { startedAt: now };
    this.inflight.add(lane);
    void this.write(batch).finally(() => {
      this.inflight.delete(lane);
      clearTimeout(this.timer);
      this.timer = undefined;
      this.pump();
    });
  }

  private async write(batch: PendingEnd[]): Promise<void> {
    try {
      const stored = await endReplies(
        this.db,
        batch.map((pending) => pending.end),
      );
      for (const pending of batch) pending.resolve(stored.get(pending.end.id) ?? null);
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      // One reply's end must not fail the others' (a deadlock with another statement, a row the database
      // refuses): each is tried alone, and fails alone.
      this.logger.warn({ err: error, replies: batch.length }, "could not store reply ends together");
      await Promise.all(
        batch.map((pending) =>
          endReplies(this.db, [pending.end]).then(
            (stored) => pending.resolve(stored.get(pending.end.id) ?? null),
            pending.reject,
          ),
        ),
      );
    }
  }
}
