import type { Db } from "../db/client.js";
import { isRecordNotFound } from "../db/errors.js";
import type { MessageStatus } from "../generated/prisma/client.js";
import type { MessageState } from "./events.js";
import type { Usage } from "./provider.js";
import type { FlushedReply, TextFlusher } from "./text-flusher.js";

/** How the reply ended, as stored. */
export interface ReplyOutcome {
  status: Exclude<MessageStatus, "STREAMING">;
  error: string | null;
  usage: Usage | null;
  model: string;
}

/**
 * Persists an assistant message while it streams: text accumulates in memory and the process's
 * {@link TextFlusher} saves it in batches, at most one write per flush interval, so a crash loses at most
 * the last interval's text and a reply never costs a write per token.
 */
export class ReplyWriter implements FlushedReply {
  content = "";
  /** Database writes made for this reply (batched flushes and the final write). */
  writes = 0;
  private lastSeq = 0;
  private gone = false;

  constructor(
    private readonly prisma: Db,
    readonly messageId: string,
    private readonly flusher: TextFlusher,
    /** Called once when the reply is no longer this writer's: deleted, or failed by another instance. */
    private readonly onLost: () => void = () => {},
  ) {}

  /** Adds text that the event numbered `seq` carried. */
  append(delta: string, seq: number): void {
    this.content += delta;
    this.advance(seq);
  }

  /** Records that events up to `seq` exist, for events that carry no text (tool calls). */
  advance(seq: number): void {
    this.lastSeq = seq;
    if (!this.gone) this.flusher.mark(this);
  }

  pending(): { content: string; lastSeq: number } {
    return { content: this.content, lastSeq: this.lastSeq };
  }

  saved(): void {
    this.writes++;
  }

  lost(): void {
    if (this.gone) return;
    this.gone = true;
    this.onLost();
  }

  /** Writes the final state and frees the conversation for the next send; returns the stored message. */
  async finish(
    outcome: ReplyOutcome,
    finalSeq: number,
    conversationId: string,
  ): Promise<MessageState | null> {
    await this.flusher.settle(this);
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
}
