/**
 * What the observers of this folder (metrics, tracing) read of a reply. The agent's own types extend these,
 * so the observers depend on no floor above them.
 */
export interface ReplySummary {
  readonly messageId: string;
  readonly model: string;
  /** The reply's final status: COMPLETE, CANCELLED or FAILED. */
  readonly status: string;
  readonly usage: { readonly promptTokens: number; readonly completionTokens: number } | null;
  /** The model call failed (a provider error, not a cancellation). */
  readonly modelError: boolean;
  /** Milliseconds spent loading the history, until the first text, and in all (null: never happened). */
  readonly durations: { historyMs: number | null; firstTokenMs: number | null; totalMs: number };
}

/** An event a reply published; a completed tool call says whether it failed. */
export interface PublishedEvent {
  readonly type: string;
  readonly toolCall?: { readonly isError: boolean };
}

/** Whoever watches replies: told of every event, and once when a reply ends. */
export interface ReplyObserver {
  event(event: PublishedEvent): void;
  ended(summary: ReplySummary): void;
}
