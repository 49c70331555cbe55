import { once } from "node:events";
import { Redis } from "ioredis";
import type { Logger } from "../observability/logger.js";

/** The two connections an instance keeps to Redis: commands, and the one in subscriber mode. */
export interface RedisConnections {
  /** Commands (XADD, PUBLISH, XRANGE...): auto-pipelined, failing at once while disconnected. */
  readonly commands: Redis;
  /** Pub/sub only: queues its SUBSCRIBEs while disconnected and subscribes again after a reconnect. */
  readonly subscriber: Redis;
  /** Prepended to every key and channel, so several deployments or test runs can share one Redis. */
  readonly prefix: string;
  /** Waits until both are connected, at most `timeoutMs`; false when they are not. */
  ready(timeoutMs: number): Promise<boolean>;
  /** Sends what is queued, then disconnects both. */
  close(): Promise<void>;
}

/**
 * Opens the connections. They reconnect by themselves forever (ioredis' backoff, at most 2 s apart); an outage
 * is logged once when it starts and once when it ends.
 */
export function connectRedis(url: string, prefix: string, logger: Logger): RedisConnections {
  const log = logger.child({ component: "redis" });
  const retryStrategy = (attempt: number) => Math.min(attempt * 100, 2_000);
  // Commands fail fast while Redis is away: the streaming path must never buffer without bound, and
  // followers fall back to the database at once instead of hanging on a queued read.
  const commands = new Redis(url, {
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy,
    connectionName: "chat-commands",
  });
  const subscriber = new Redis(url, {
    autoResubscribe: true,
    maxRetriesPerRequest: null,
    retryStrategy,
    connectionName: "chat-subscriber",
  });
  for (const [name, connection] of [
    ["commands", commands],
    ["subscriber", subscriber],
  ] as const) {
    let down = false;
    connection.on("error", (error: Error) => {
      if (down) return;
      down = true;
      log.warn({ err: error, connection: name }, "Redis is unreachable; reconnecting");
    });
    connection.on("ready", () => {
      if (!down) return;
      down = false;
      log.info({ connection: name }, "Redis is reachable again");
    });
  }
  const isReady = () => commands.status === "ready" && subscriber.status === "ready";
  return {
    commands,
    subscriber,
    prefix,
    async ready(timeoutMs) {
      if (isReady()) return true;
      const waits = [commands, subscriber]
        .filter((c) => c.status !== "ready")
        .map((c) => once(c, "ready", { signal: AbortSignal.timeout(timeoutMs) }));
      await Promise.all(waits).catch(() => {});
      return isReady();
    },
    async close() {
      // QUIT skips the auto-pipeline queue; a PING goes through it, so its reply means every event
      // published before (the replies' final ones included) has reached Redis.
      if (commands.status === "ready") await commands.ping().catch(() => {});
      await Promise.all(
        [commands, subscriber].map((c) =>
          c.status === "ready"
            ? c.quit().then(
                () => {},
                () => c.disconnect(),
              )
            : c.disconnect(),
        ),
      );
    },
  };
}
