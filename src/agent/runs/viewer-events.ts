import type { MessageStatus } from "../../db/generated/prisma/client.js";

/**
 * What changed for one user, told to every open tab and device of theirs (`Subscription.viewerEvents`).
 * Events carry ids (and a reply's end status) only: a subscriber reads the conversation fresh, as itself,
 * so nothing stale or another user's travels, and an event stays a few dozen bytes on the wire between
 * instances. The shapes match the GraphQL union `ViewerEvent`.
 */
export type ViewerEvent =
  | { type: "ConversationCreated"; conversationId: string }
  | { type: "ConversationUpdated"; conversationId: string }
  | { type: "ConversationDeleted"; conversationId: string }
  | { type: "ReplyStarted"; conversationId: string; messageId: string; userMessageId: string | null }
  | {
      type: "ReplyFinished";
      conversationId: string;
      messageId: string;
      status: Exclude<MessageStatus, "STREAMING" | "QUEUED">;
    };

/** One listener's hold on a user's events: `ready` settles once delivery is set up (false: it could not be). */
export interface ViewerSubscription {
  readonly ready: Promise<boolean>;
  close(): void;
}

/**
 * Where each user's events go: to that user's subscribers on this instance, and (multi-instance mode, see
 * src/cluster) on every other instance. Publishing returns at once and never fails the change it tells of:
 * the change is saved either way, and a client that missed events reads its list again.
 */
export interface ViewerEvents {
  publish(userId: string, event: ViewerEvent): void;
  /**
   * Calls `listener` with each of the user's events until closed; `onLost` when events may have been lost
   * meanwhile (the instance lost Redis): the subscriber should end, so that its client starts over.
   */
  subscribe(userId: string, listener: (event: ViewerEvent) => void, onLost: () => void): ViewerSubscription;
}

/** The events of one instance alone (no `REDIS_URL`): handed to the user's local listeners directly. */
export class LocalViewerEvents implements ViewerEvents {
  private readonly listeners = new Map<string, Set<(event: ViewerEvent) => void>>();

  publish(userId: string, event: ViewerEvent): void {
    const listeners = this.listeners.get(userId);
    if (listeners) for (const listener of listeners) listener(event);
  }

  subscribe(userId: string, listener: (event: ViewerEvent) => void): ViewerSubscription {
    let listeners = this.listeners.get(userId);
    if (!listeners) {
      listeners = new Set();
      this.listeners.set(userId, listeners);
    }
    listeners.add(listener);
    return {
      ready: Promise.resolve(true),
      close: () => {
        const current = this.listeners.get(userId);
        if (current?.delete(listener) && current.size === 0) this.listeners.delete(userId);
      },
    };
  }
}
