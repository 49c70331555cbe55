import { createPubSub, type PubSub } from "graphql-yoga";
import type { RunEvent } from "./agent/events.js";

/** Commands sent to whichever instance runs a reply. */
export type RunCommand = { type: "stop" };

/** The one typed topic map of the process's pub/sub. Topics are keyed by the assistant message id. */
export type Topics = {
  "run:event": [messageId: string, event: RunEvent];
  "run:command": [messageId: string, command: RunCommand];
};

/** The application's pub/sub. In memory by default; the multi-instance setup gives it a Redis event target. */
export type AppPubSub = PubSub<Topics>;

/** Creates the in-process pub/sub. */
export function createAppPubSub(): AppPubSub {
  return createPubSub<Topics>();
}
