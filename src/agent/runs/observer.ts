import type { MessageStatus } from "../../db/generated/prisma/client.js";
import type { ReplySummary } from "../../observability/replies.js";
import type { Usage } from "../model/provider.js";
import type { RunEvent } from "./events.js";

/** How a reply went, reported once when it ends. */
export interface RunSummary extends ReplySummary {
  readonly status: Exclude<MessageStatus, "STREAMING">;
  readonly usage: Usage | null;
}

/**
 * What runs report to whoever watches the process (the Prometheus metrics); the agent knows nothing of
 * how it is exported.
 */
export interface RunObserver {
  /** An event was numbered and published. */
  event(event: RunEvent): void;
  /** A reply ended, saved. */
  ended(summary: RunSummary): void;
}

/** An observer that ignores everything (tests and tools that need no metrics). */
export const ignoreRuns: RunObserver = { event: () => {}, ended: () => {} };

/** One observer telling several (metrics and tracing). */
export function combineObservers(...observers: (RunObserver | null | undefined)[]): RunObserver {
  const present = observers.filter((o): o is RunObserver => o != null);
  return {
    event: (event) => {
      for (const o of present) o.event(event);
    },
    ended: (summary) => {
      for (const o of present) o.ended(summary);
    },
  };
}
