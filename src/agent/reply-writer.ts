import type { Db } from "../db/client.js";
import { isRecordNotFound } from "../db/errors.js";
import type { MessageStatus } from "../generated/prisma/client.js";
import type { Logger } from "../logger.js";
import type { MessageState } from "./events.js";
import type { Usage } from "./provider.js";

/** How the reply ended, as stored. */
export interface ReplyOutcome {
  status: Exclude<MessageStatus, "STREAMING">;
  error: string | null;
  usage: Usage | null;
  model: string;
}

/**
 * Persists an assistant message while it streams: text accumulates in memory and is written in batches,
 * at most one write per `intervalMs` (sooner once `maxPendingChars` are waiting, but never more often than
 * `minGapMs`), so a crash loses at most the last batch and a reply never costs a write per token.
 */
export class ReplyWriter {
  content = "";
  /** Database writes made for this reply (flushes and the final write). */
  writes = 0;
  private savedLength = 0;
  private lastSeq = 0;
  private lastWriteAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> = Promise.resolve();
  private gone = false;

  constructor(
    private readonly prisma: Db,
    private readonly messageId: string,
    private readonly logger: Logger,
    private readonly options: { intervalMs: number; minGapMs: number; maxPendingChars: number },
    /** Called once when the reply is no longer this writer's: deleted, or failed by another instance. */
    private readonly onLost: () => void = () => {},
  ) {}

  /** Adds text that the event numbered `seq` carried. */
  append(delta: string, seq: number): void {
    this.content += delta;
    this.lastSeq = seq;
    this.schedule();
  }

  /** Records that events up to `seq` exist, for events that carry no text (tool calls). */
  advance(seq: number): void {
    this.lastSeq = seq;
    this.schedule();
  }

  /** Writes the final state and frees the conversation for the next send; returns the stored message. */
  async finish(
    outcome: ReplyOutcome,
    finalSeq: number,
    conversationId: string,
  ): Promise<MessageState | null> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.inflight;
    if (this.gone) return this.stored();
    this.writes++;
    try {
      const [message] = await this.prisma.$transaction([
        this.prisma.message.update({
          // Fenced on the status: a reply another instance already failed keeps that end.
          where: { id: this.messageId, status: "STREAMING" },
          data: {
            content: this.content,
            lastSeq: finalSeq,
            status: outcome.status,
            error: outcome.error,
            model: outcome.model,
            promptTokens: outcome.usage?.promptTokens ?? null,
            completionTokens: outcome.usage?.completionTokens ?? null,
            totalTokens: outcome.usage?.totalTokens ?? null,
          },
          include: { toolCalls: { orderBy: { position: "asc" } } },
        }),
        this.prisma.conversation.updateMany({
          where: { id: conversationId, activeReplyId: this.messageId },
          data: { activeReplyId: null },
        }),
      ]);
      return message;
    } catch (error) {
      if (isRecordNotFound(error)) return this.stored(); // deleted, or ended by another instance
      throw error;
    }
  }

  /** The reply as stored by whoever ended it, or null when it was deleted. */
  private stored(): Promise<MessageState | null> {
    return this.prisma.message.findUnique({
      where: { id: this.messageId },
      include: { toolCalls: { orderBy: { position: "asc" } } },
    });
  }

  private schedule(): void {
    if (this.timer || this.gone) return;
    const pending = this.content.length - this.savedLength;
    const since = Date.now() - this.lastWriteAt;
    const wait =
      pending >= this.options.maxPendingChars
        ? Math.max(0, this.options.minGapMs - since)
        : Math.max(0, this.options.intervalMs - since);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastWriteAt = Date.now();
      this.inflight = this.inflight.then(() => this.flush());
    }, wait);
  }

  private async flush(): Promise<void> {
    if (this.gone) return;
    const content = this.content;
    const lastSeq = this.lastSeq;
    this.writes++;
    try {
      const { count } = await this.prisma.message.updateMany({
        where: { id: this.messageId, status: "STREAMING" },
        data: { content, lastSeq },
      });
      if (count === 0) {
        this.gone = true;
        this.onLost();
        return;
      }
      this.savedLength = content.length;
    } catch (error) {
      // A failed batch is retried with the next one; the text is still in memory.
      this.logger.warn({ err: error, messageId: this.messageId }, "could not save streamed text");
    }
  }
}
