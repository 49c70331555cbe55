import type { RunEvent } from "./events.js";
import type { ViewerEvents } from "./viewer-events.js";

/**
 * How the runs of one server instance reach the other instances sharing the database (multi-instance mode,
 * `REDIS_URL`). Absent on a single instance, where everything stays in the process. The implementation
 * (src/cluster) keeps the transport out of the run engine.
 */
export interface RunNetwork {
  /** Users' events (`viewerEvents`), shared with every instance over the network's connections. */
  readonly viewerEvents: ViewerEvents;
  /**
   * Shares an event of a run of this instance with the other instances and keeps it for replay. Returns at
   * once: delivery is batched and never waited for on the streaming path.
   */
  publish(messageId: string, event: RunEvent): void;
  /**
   * Follows a reply that runs on another instance: exactly the events after `afterSeq` (or a
   * `MessageSnapshot`, then live events) until `MessageCompleted`, or until `signal` aborts.
   */
  follow(messageId: string, afterSeq: number, signal: AbortSignal): AsyncIterable<RunEvent>;
  /** Asks whichever instance runs the reply to stop it; resolves once it has ended, or after a bounded wait. */
  requestStop(messageId: string, reason: string | null): Promise<void>;
  /** Registers the handler for stops asked of this instance's runs (from any instance). */
  onStop(handler: (messageId: string, reason: string | null) => void): void;
  /** Keeps the shared state of these running replies from expiring (called with each lease renewal). */
  keepAlive(messageIds: string[]): void;
  /** The seq of the newest event shared for a reply, or null when none is held. */
  lastPublishedSeq(messageId: string): Promise<number | null>;
  /** Whether the network is usable now (readiness). */
  isReady(): Promise<boolean>;
  /** Sends what is still queued and disconnects. */
  close(): Promise<void>;
}
