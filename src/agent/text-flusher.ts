import type { Db } from "../db/client.js";
import type { Logger } from "../logger.js";

/** A reply whose streamed text the flusher saves. */
export interface FlushedReply {
  readonly messageId: string;
  /** The text and the seq of the newest event it covers, as they stand now. */
  pending(): { content: string; lastSeq: number };
  /** The reply's row was updated. */
  saved(): void;
  /** The reply is no longer STREAMING in the database: deleted, or ended by another instance. */
  lost(): void;
}

/**
 * Saves the text of every reply this process is streaming, all of them in one statement per interval:
 * each reply's row is written at most once per `intervalMs`, and the database sees a few statements a
 * second however many replies stream (one `UPDATE … FROM unnest(…)` each), instead of a round trip per
 * reply and flush. A batch that fails is retried with the next one; the text is still in memory.
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
    const ids: string[] = [];
    const contents: string[] = [];
    const seqs: number[] = [];
    for (const reply of batch) {
      const { content, lastSeq } = reply.pending();
      ids.push(reply.messageId);
      contents.push(content);
      seqs.push(lastSeq);
    }
    try {
      // Fenced on the status: a reply that ended (here or on another instance) keeps its final state.
      const rows = await this.prisma.$queryRaw<{ id: string }[]>`UPDATE "public"."Message" AS m
           SET content = v.content, "lastSeq" = v.seq, "updatedAt" = ${new Date().toISOString()}::timestamp(3)
          FROM unnest(${ids}::uuid[], ${contents}::text[], ${seqs}::int[]) AS v(id, content, seq)
         WHERE m.id = v.id AND m.status = 'STREAMING'
        RETURNING m.id`;
      const updated = new Set(rows.map((r) => r.id));
      for (const reply of batch) {
        if (updated.has(reply.messageId)) reply.saved();
        else reply.lost();
      }
    } catch (error) {
      this.logger.warn({ err: error, replies: batch.length }, "could not save streamed text");
      for (const reply of batch) this.dirty.add(reply);
    }
  }
}
