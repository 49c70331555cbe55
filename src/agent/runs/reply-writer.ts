import type { Db } from "../../db/client.js";
import { withToolCalls } from "../../db/columns.js";
import type { MessageStatus, ToolCall } from "../../db/generated/prisma/client.js";
import { findMessageWithToolCalls } from "../../db/messages.js";
import { endReply, pauseReply } from "../../db/replies.js";
import type { Usage } from "../model/provider.js";
import type { MessageState } from "./events.js";
import type { FlushedReply, TextFlusher, UnsavedText } from "./text-flusher.js";

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
  /** The model's reasoning so far (saved with the text, in the same flushes). */
  reasoning = "";
  /** Database writes made for this reply (batched flushes and the final write). */
  writes = 0;
  private lastSeq = 0;
  private gone = false;
  /** How much of `content` is stored: UTF-16 units, and characters (-1: the stored text must be replaced). */
  private storedLength = 0;
  private storedChars = 0;
  /** How much of `reasoning` is stored (UTF-16 units). */
  private storedReasoning = 0;

  constructor(
    private readonly prisma: Db,
    readonly messageId: string,
    private readonly flusher: TextFlusher,
    /** Called once when the reply is no longer this writer's: deleted, or failed by another instance. */
    private readonly onLost: () => void = () => {},
    /** A paused reply being resumed: its text and last seq as stored. */
    resumed?: { content: string; reasoning: string | null; lastSeq: number },
  ) {
    if (resumed) {
      this.content = resumed.content;
      this.reasoning = resumed.reasoning ?? "";
      this.storedReasoning = this.reasoning.length;
      this.storedLength = resumed.content.length;
      this.storedChars = codePoints(resumed.content);
      this.lastSeq = resumed.lastSeq;
    }
  }

  /** Adds text that the event numbered `seq` carried. */
  append(delta: string, seq: number): void {
    this.content += delta;
    this.advance(seq);
  }

  /** Adds reasoning that the event numbered `seq` carried. */
  appendReasoning(delta: string, seq: number): void {
    this.reasoning += delta;
    this.advance(seq);
  }

  /** Records that events up to `seq` exist, for events that carry no text (tool calls). */
  advance(seq: number): void {
    this.lastSeq = seq;
    if (!this.gone) this.flusher.mark(this);
  }

  unsaved(): UnsavedText {
    const replace = this.storedChars < 0;
    let end = this.content.length;
    // Never split a surrogate pair between two flushes: half of it would be stored as U+FFFD.
    if (isHighSurrogate(this.content.charCodeAt(end - 1))) end -= 1;
    const text = this.content.slice(replace ? 0 : this.storedLength, end);
    let reasoningEnd = this.reasoning.length;
    if (isHighSurrogate(this.reasoning.charCodeAt(reasoningEnd - 1))) reasoningEnd -= 1;
    const from = replace ? 0 : this.storedReasoning;
    const reasoning =
      reasoningEnd > from || (replace && this.reasoning !== "")
        ? this.reasoning.slice(from, reasoningEnd)
        : null;
    return {
      text,
      at: this.storedChars,
      chars: codePoints(text),
      lastSeq: this.lastSeq,
      end,
      reasoning,
      reasoningEnd,
    };
  }

  saved(written: UnsavedText): void {
    this.writes++;
    this.storedLength = written.end;
    this.storedReasoning = written.reasoningEnd;
    this.storedChars = Math.max(written.at, 0) + written.chars;
  }

  refused(written: UnsavedText): void {
    if (written.at < 0) {
      this.lost(); // even a whole replacement was refused: the row is no longer STREAMING
      return;
    }
    // Not what this writer stored last (or gone): replace it whole with the next flush, which tells.
    this.storedChars = -1;
    this.flusher.mark(this);
  }

  private lost(): void {
    if (this.gone) return;
    this.gone = true;
    this.onLost();
  }

  /**
   * Writes the final state and frees the conversation for the next send; returns the stored message with
   * `toolCalls`, the reply's calls as the run stored them (read back only when the reply is not ours).
   */
  async finish(
    outcome: ReplyOutcome,
    finalSeq: number,
    conversationId: string,
    toolCalls: ToolCall[],
  ): Promise<MessageState | null> {
    await this.flusher.settle(this);
    if (this.gone) return this.stored();
    this.writes++;
    const usage = {
      promptTokens: outcome.usage?.promptTokens ?? null,
      completionTokens: outcome.usage?.completionTokens ?? null,
      totalTokens: outcome.usage?.totalTokens ?? null,
    };
    const state = {
      content: this.content,
      reasoning: this.reasoning === "" ? null : this.reasoning,
      lastSeq: finalSeq,
      model: outcome.model,
      ...usage,
    };
    // One statement frees the conversation only when this writer's end is the one stored; a pause keeps it.
    const message =
      outcome.status === "AWAITING_APPROVAL"
        ? await pauseReply(this.prisma, this.messageId, state)
        : await endReply(this.prisma, this.messageId, conversationId, {
            ...state,
            status: outcome.status,
            error: outcome.error,
          });
    // Deleted, or ended by another instance: what is stored.
    return message ? withToolCalls(message, toolCalls) : this.stored();
  }

  /** The reply as stored by whoever ended it, or null when it was deleted. */
  private stored(): Promise<MessageState | null> {
    return findMessageWithToolCalls(this.prisma, this.messageId);
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Characters as PostgreSQL's char_length counts them: code points, not UTF-16 units. */
function codePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0xdc00 || code > 0xdfff) count++;
  }
  return count;
}
