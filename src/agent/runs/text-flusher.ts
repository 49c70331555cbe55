import type { Db } from "../../db/client.js";
import { appendReplyTexts } from "../../db/replies.js";
import type { Logger } from "../../observability/logger.js";

/** Text of a reply not stored yet, as one flush saves it. */
export interface UnsavedText {
  /** Appended to the stored text; the whole text when `at` is -1. */
  readonly text: string;
  /** Characters (code points) the stored text should hold now; -1 to replace it whole. */
  readonly at: number;
  /** Characters (code points) in `text`. */
  readonly chars: number;
  /** The seq of the newest event the text covers. */
  readonly lastSeq: number;
  /** Reasoning to append (the whole reasoning when `at` is -1); null when there is none new. */
  readonly reasoning: string | null;
  /** How far into the reasoning in memory this reaches (UTF-16 units). */
  readonly reasoningEnd: number;
  /** How far into the reply's text in memory this reaches (UTF-16 units): the writer's own bookkeeping. */
  readonly end: number;
}

/** A reply whose streamed text the flusher saves. */
export interface FlushedReply {
  readonly messageId: string;
  /** What the next flush saves for this reply. */
  unsaved(): UnsavedText;
  /** `unsaved` was written. */
  saved(written: UnsavedText): void;
  /**
   * `unsaved` was not written: the row is no longer STREAMING (deleted, or ended by another instance), or
   * it does not hold the `at` characters the text was to follow.
   */
  refused(written: UnsavedText): void;
}

/**
 * Saves the text of every reply this process is streaming, all of them in one statement per interval:
 * each reply's row is written at most once per `intervalMs`, and the database sees a few statements a
 * second however many replies stream (one `UPDATE … FROM unnest(…)` each), instead of a round trip per
 * reply and flush. Each flush sends only the text added since the last one, appended where the stored
 * text ends (checked: a row that holds something else is left alone, and the writer asks for a whole
 * replacement next), so a long reply does not resend its whole text four times a second. A batch that
 * fails is retried with the next one; the text is still in memory.
 */
export class TextFlusher {
  private readonly dirty = new Set<FlushedReply>();
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> = Promise.resolve();
  private lastTickAt = 0;

  constructor(
    private readonly prisma: Db,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  /** The reply has text (or events) not saved yet: it is written with the next batch. */
  mark(reply: FlushedReply): void {
    this.dirty.add(reply);
    this.schedule();
  }

  /** Takes the reply out of the next batch and waits for a batch being written that may hold it. */
  async settle(reply: FlushedReply): Promise<void> {
    this.dirty.delete(reply);
    await this.inflight;
  }

  private schedule(): void {
    if (this.timer || this.dirty.size === 0) return;
    const wait = Math.max(0, this.lastTickAt + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.lastTickAt = Date.now();
      this.inflight = this.inflight.then(() => this.flush());
      // The next batch is scheduled once this one is written: batches never overlap.
      void this.inflight.then(() => {
        this.timer = undefined;
        this.schedule();
      });
    }, wait);
  }

  private async flush(): Promise<void> {
    const batch = [...this.dirty];
    this.dirty.clear();
    if (batch.length === 0) return;
    const written = batch.map((reply) => ({ messageId: reply.messageId, ...reply.unsaved() }));
    try {
      // Fenced on the status (a reply that ended, here or on another instance, keeps its final state) and
      // on the stored length (an append lands only where the writer's last one ended).
      const updated = await appendReplyTexts(this.prisma, written);
      batch.forEach((reply, i) => {
        const unsaved = written[i] as UnsavedText;
        if (updated.has(reply.messageId)) reply.saved(unsaved);
        else reply.refused(unsaved);
      });
    } catch (error) {
      this.logger.warn({ err: error, replies: batch.length }, "could not save streamed text");
      for (const reply of batch) this.dirty.add(reply);
    }
  }
}
