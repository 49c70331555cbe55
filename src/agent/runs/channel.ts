import { boundEvent, type RunEvent, type UnnumberedEvent } from "./events.js";

/** A stream watching a reply: told of each event as it is emitted, and that the run ended. */
export interface RunListener {
  onRunEvent(event: RunEvent): void;
  /** The run has ended; after `MessageCompleted`, or without it when it paused for approval. */
  onRunEnded(): void;
}

/**
 * Numbers a reply's events, keeps the newest of them for resuming clients, and hands each to the streams
 * watching the reply. Listeners are called directly: one reply's events concern only its own watchers, so
 * a process-wide pub/sub (an `EventTarget` dispatch per event) would only add work.
 */
export class RunChannel {
  private seq: number;
  private readonly buffer: RunEvent[] = [];
  /** Index of the oldest kept event in `buffer` (dropped ones are spliced off in chunks, not per event). */
  private start = 0;
  /**
   * Replaced, never changed in place, so that a listener leaving while it is told of an event does not
   * change the list being walked. An array: a reply has one or two watchers, for which a `Set` is far larger.
   */
  private listeners: readonly RunListener[] = [];
  private ended = false;

  constructor(
    private readonly capacity: number,
    startSeq = 0,
    private readonly onEmit: (event: RunEvent) => void = () => {},
    /** Longest tool result an event carries (see `boundToolCall`). */
    private readonly toolResultMaxChars = Number.POSITIVE_INFINITY,
  ) {
    this.seq = startSeq;
  }

  /** The seq of the newest event. */
  get lastSeq(): number {
    return this.seq;
  }

  /** The newest event, if any is buffered. */
  get last(): RunEvent | undefined {
    return this.buffer.length > this.start ? this.buffer.at(-1) : undefined;
  }

  /** Tells `listener` of every event emitted from now on, and of the run's end; nothing once it has ended. */
  subscribe(listener: RunListener): void {
    if (!this.ended) this.listeners = [...this.listeners, listener];
  }

  unsubscribe(listener: RunListener): void {
    if (this.listeners.includes(listener)) this.listeners = this.listeners.filter((l) => l !== listener);
  }

  /** Whether the run has ended (see {@link close}). */
  get closed(): boolean {
    return this.ended;
  }

  /** The run has ended: its listeners are told, and let go. */
  close(): void {
    this.ended = true;
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener.onRunEnded();
  }

  /** Numbers, buffers and delivers an event. */
  emit(event: UnnumberedEvent): RunEvent {
    this.seq++;
    const bounded = Number.isFinite(this.toolResultMaxChars)
      ? boundEvent(event, this.toolResultMaxChars)
      : event;
    // `seq` first: after the spread, a property it lacked would give every event a hidden class of its own
    // (V8, Node 20), a map and descriptors allocated per event and megamorphic reads wherever it goes.
    const numbered = { seq: this.seq, ...bounded } as RunEvent;
    this.buffer.push(numbered);
    if (this.buffer.length - this.start > this.capacity) {
      this.start++;
      if (this.start >= this.capacity) {
        this.buffer.splice(0, this.start);
        this.start = 0;
      }
    }
    this.onEmit(numbered);
    for (const listener of this.listeners) listener.onRunEvent(numbered);
    return numbered;
  }

  /** Exactly the events after `afterSeq`, or null when the oldest of them has left the buffer. */
  since(afterSeq: number): RunEvent[] | null {
    if (afterSeq >= this.seq) return [];
    const oldest = this.buffer[this.start]?.seq ?? this.seq + 1;
    if (afterSeq + 1 < oldest) return null;
    // Seqs are consecutive: the events wanted are the buffer's tail.
    return this.buffer.slice(this.buffer.length - (this.seq - afterSeq));
  }
}
