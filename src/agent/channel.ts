import type { AppPubSub } from "../pubsub.js";
import type { RunEvent, UnnumberedEvent } from "./events.js";

/**
 * Numbers a reply's events, keeps the newest of them for resuming clients, and publishes them on the
 * reply's topic.
 */
export class RunChannel {
  private seq: number;
  private readonly buffer: RunEvent[] = [];

  constructor(
    private readonly messageId: string,
    private readonly pubsub: AppPubSub,
    private readonly capacity: number,
    startSeq = 0,
    private readonly onEmit: (event: RunEvent) => void = () => {},
  ) {
    this.seq = startSeq;
  }

  /** The seq of the newest event. */
  get lastSeq(): number {
    return this.seq;
  }

  /** The newest event, if any is buffered. */
  get last(): RunEvent | undefined {
    return this.buffer.at(-1);
  }

  /** Numbers, buffers and publishes an event. */
  emit(event: UnnumberedEvent): RunEvent {
    const numbered = { ...event, seq: this.seq + 1 } as RunEvent;
    this.seq = numbered.seq;
    this.buffer.push(numbered);
    if (this.buffer.length > this.capacity) this.buffer.shift();
    this.pubsub.publish("run:event", this.messageId, numbered);
    this.onEmit(numbered);
    return numbered;
  }

  /** Exactly the events after `afterSeq`, or null when the oldest of them has left the buffer. */
  since(afterSeq: number): RunEvent[] | null {
    if (afterSeq >= this.seq) return [];
    const oldest = this.buffer[0]?.seq ?? this.seq + 1;
    if (afterSeq + 1 < oldest) return null;
    return this.buffer.filter((e) => e.seq > afterSeq);
  }
}
