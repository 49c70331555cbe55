import type { ViewerEvent, ViewerEvents, ViewerSubscription } from "../agent/runs/viewer-events.js";
import type { Logger } from "../observability/logger.js";
import type { ChannelFanout } from "./fanout.js";
import type { RedisConnections } from "./redis.js";

/**
 * Users' events on Redis pub/sub: one channel per user, `<prefix>user:<userId>`. An instance subscribes to
 * a user's channel while at least one of that user's streams is open on it (one Redis subscription shared
 * by all their tabs, dropped with the last: see {@link ChannelFanout}), so a publish reaches exactly the
 * instances that have someone to tell. Local subscribers hear their own instance's events through Redis
 * too: one path, one order for everyone. Fire-and-forget like the run events: events published while Redis
 * is away are lost, so the instance's subscribers are told (`onLost`) as soon as its subscriber connection
 * drops, and their clients subscribe and read their list again.
 */
export class RedisViewerEvents implements ViewerEvents {
  private publishFailing = false;
  private lastDecoded: { payload: string; event: ViewerEvent } | undefined;

  constructor(
    private readonly redis: RedisConnections,
    private readonly fanout: ChannelFanout,
    private readonly logger: Logger,
  ) {
    redis.commands.on("ready", () => {
      this.publishFailing = false;
    });
  }

  publish(userId: string, event: ViewerEvent): void {
    this.redis.commands.publish(this.channel(userId), JSON.stringify(event)).catch((error: unknown) => {
      if (this.publishFailing) return;
      this.publishFailing = true;
      this.logger.warn({ err: error, event: event.type }, "could not share a user's event through Redis");
    });
  }

  subscribe(userId: string, listener: (event: ViewerEvent) => void, onLost: () => void): ViewerSubscription {
    const subscription = this.fanout.subscribe(this.channel(userId), (payload) =>
      listener(this.decode(payload)),
    );
    const stopWatching = this.fanout.onConnectionChange(onLost);
    return {
      ready: subscription.ready,
      close: () => {
        stopWatching();
        subscription.close();
      },
    };
  }

  /** Decodes a message once for all the local subscribers of its user (they are called in a row). */
  private decode(payload: string): ViewerEvent {
    if (payload !== this.lastDecoded?.payload)
      this.lastDecoded = { payload, event: JSON.parse(payload) as ViewerEvent };
    return this.lastDecoded.event;
  }

  private channel(userId: string): string {
    return `${this.redis.prefix}user:${userId}`;
  }
}
