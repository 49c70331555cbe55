import type { Redis } from "ioredis";

/** A subscription to one channel: `ready` settles once Redis confirmed it (true) or could not (false). */
export interface ChannelSubscription {
  readonly ready: Promise<boolean>;
  close(): void;
}

/**
 * Shares the instance's one subscriber connection among every local listener: a channel is subscribed in
 * Redis while at least one listener wants it, whatever the number of clients following the same reply.
 */
export class ChannelFanout {
  private readonly listeners = new Map<string, Set<(payload: string) => void>>();
  private readonly pending = new Map<string, Promise<boolean>>();
  private readonly connectionListeners = new Set<() => void>();
  private connectedOnce = false;

  constructor(private readonly subscriber: Redis) {
    subscriber.on("message", (channel: string, payload: string) => {
      const listeners = this.listeners.get(channel);
      if (listeners) for (const listener of listeners) listener(payload);
    });
    // Messages published while the connection is down are lost: listeners learn of the outage at once
    // (and poll meanwhile), then catch up from the history when it is back.
    subscriber.on("close", () => this.connectionChanged());
    subscriber.on("ready", () => {
      if (this.connectedOnce) this.connectionChanged();
      this.connectedOnce = true;
    });
  }

  /** Calls `listener` with each message on `channel` until the subscription is closed. */
  subscribe(channel: string, listener: (payload: string) => void): ChannelSubscription {
    let listeners = this.listeners.get(channel);
    if (!listeners) {
      listeners = new Set();
      this.listeners.set(channel, listeners);
      this.pending.set(
        channel,
        this.subscriber.subscribe(channel).then(
          () => true,
          () => false,
        ),
      );
    }
    listeners.add(listener);
    const ready = this.pending.get(channel) ?? Promise.resolve(true);
    return {
      ready,
      close: () => {
        const current = this.listeners.get(channel);
        if (!current?.delete(listener) || current.size > 0) return;
        this.listeners.delete(channel);
        this.pending.delete(channel);
        // Redis runs commands in order, so a SUBSCRIBE sent after this UNSUBSCRIBE still wins.
        void this.subscriber.unsubscribe(channel).catch(() => {});
      },
    };
  }

  /** Calls `listener` each time the subscriber connection is lost or back; returns its removal. */
  onConnectionChange(listener: () => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  private connectionChanged(): void {
    for (const listener of this.connectionListeners) listener();
  }
}
