import { isFinal, type RunEvent } from "../agent/runs/events.js";
import type { RunNetwork } from "../agent/runs/network.js";
import type { Db } from "../db/client.js";
import { findMessageWithToolCalls } from "../db/messages.js";
import { replyStatus } from "../db/replies.js";
import type { Logger } from "../observability/logger.js";
import type { FollowSource, FollowTimings } from "./catch-up.js";
import { decodeEvent, encodeEvent } from "./codec.js";
import { ChannelFanout } from "./fanout.js";
import { followReply } from "./follow.js";
import { connectRedis, type RedisConnections } from "./redis.js";
import { RedisViewerEvents } from "./viewer-events.js";

/** Settings of the Redis run network. */
export interface RedisNetworkSettings {
  /** Events kept per reply for exact resumption (the stream is trimmed to about this many). */
  historyEvents: number;
  /** How long a running reply's history lives without a keep-alive (its instance died). */
  runningTtlMs: number;
  /** How long a finished reply's history stays for late resumers (the database answers after that too). */
  retentionMs: number;
  /** How long `requestStop` waits for the reply to end. */
  stopWaitMs: number;
  follow: FollowTimings;
  /** Told each time a local follower has attached to a reply running elsewhere (for metrics and tests). */
  onFollowerAttached?: (messageId: string) => void;
}

/** A stop request as it travels on the command channel. */
interface StopCommand {
  messageId: string;
  reason: string | null;
}

/**
 * The run network on Redis. Each reply has a Redis Stream `<prefix>run:<id>` holding its recent events
 * under their seq (entry id `<seq>-0`, trimmed with `MAXLEN ~`), and a pub/sub channel of the same name
 * for live delivery; both are written in one pipelined round trip per batch of events, never awaited by the
 * run. Stops travel on `<prefix>run:commands`; users' events on `<prefix>user:<id>` (see RedisViewerEvents).
 */
export class RedisRunNetwork implements RunNetwork {
  readonly viewerEvents: RedisViewerEvents;
  private readonly fanout: ChannelFanout;
  private readonly source: FollowSource;
  private readonly commandChannel: string;
  private publishFailing = false;
  private lastDecoded: { payload: string; event: RunEvent } | undefined;

  constructor(
    private readonly redis: RedisConnections,
    private readonly prisma: Db,
    private readonly logger: Logger,
    private readonly settings: RedisNetworkSettings,
  ) {
    this.fanout = new ChannelFanout(redis.subscriber);
    this.commandChannel = `${redis.prefix}run:commands`;
    this.viewerEvents = new RedisViewerEvents(redis, this.fanout, logger);
    redis.commands.on("ready", () => {
      this.publishFailing = false;
    });
    this.source = {
      subscribe: (messageId, listener) =>
        this.fanout.subscribe(this.key(messageId), (payload) => listener(this.decode(payload))),
      onConnectionChange: (listener) => this.fanout.onConnectionChange(listener),
      read: (messageId, afterSeq) => this.read(messageId, afterSeq),
      load: (messageId) => findMessageWithToolCalls(this.prisma, messageId),
    };
  }

  publish(messageId: string, event: RunEvent): void {
    const key = this.key(messageId);
    const payload = encodeEvent(event);
    const { commands } = this.redis;
    // XADD before PUBLISH on one connection: a follower that sees a hole in the live events finds the
    // missing ones already in the stream.
    const writes = [
      commands.xadd(key, "MAXLEN", "~", this.settings.historyEvents, `${event.seq}-0`, "e", payload),
      commands.publish(key, payload),
    ];
    // The first events set a lifetime (renewed by keep-alives), so a dead instance's history expires; the
    // final one shortens it to the retention time.
    if (isFinal(event)) writes.push(commands.pexpire(key, this.settings.retentionMs));
    else if (event.type === "MessageCreated") writes.push(commands.pexpire(key, this.settings.runningTtlMs));
    for (const write of writes) write.catch((error: unknown) => this.publishFailed(messageId, error));
  }

  follow(messageId: string, afterSeq: number, signal: AbortSignal): AsyncIterable<RunEvent> {
    const { onFollowerAttached } = this.settings;
    return followReply(
      this.source,
      this.settings.follow,
      messageId,
      afterSeq,
      signal,
      onFollowerAttached && (() => onFollowerAttached(messageId)),
    );
  }

  async requestStop(messageId: string, reason: string | null): Promise<void> {
    let ended = () => {};
    const end = new Promise<void>((resolve) => {
      ended = resolve;
    });
    const subscription = this.fanout.subscribe(this.key(messageId), (payload) => {
      if (isFinal(decodeEvent(payload))) ended();
    });
    try {
      await Promise.race([subscription.ready, delay(1_000)]);
      if ((await replyStatus(this.prisma, messageId)) !== "STREAMING") return;
      const command: StopCommand = { messageId, reason };
      await this.redis.commands.publish(this.commandChannel, JSON.stringify(command));
      await Promise.race([end, delay(this.settings.stopWaitMs)]);
    } finally {
      subscription.close();
    }
  }

  onStop(handler: (messageId: string, reason: string | null) => void): void {
    this.fanout.subscribe(this.commandChannel, (payload) => {
      const command = JSON.parse(payload) as StopCommand;
      handler(command.messageId, command.reason);
    });
  }

  keepAlive(messageIds: string[]): void {
    for (const id of messageIds) {
      this.redis.commands.pexpire(this.key(id), this.settings.runningTtlMs).catch(() => {});
    }
  }

  async lastPublishedSeq(messageId: string): Promise<number | null> {
    const [newest] = await this.redis.commands.xrevrange(this.key(messageId), "+", "-", "COUNT", 1);
    return newest ? seqOf(newest[0]) : null;
  }

  async isReady(): Promise<boolean> {
    if (!(await this.redis.ready(0))) return false;
    const pong = await Promise.race([this.redis.commands.ping().catch(() => null), delay(1_000)]);
    return pong === "PONG";
  }

  close(): Promise<void> {
    return this.redis.close();
  }

  private async read(messageId: string, afterSeq: number): Promise<RunEvent[]> {
    const entries = await this.redis.commands.xrange(this.key(messageId), `${afterSeq + 1}-0`, "+");
    return entries.map(([, fields]) => decodeEvent(fields[1] as string));
  }

  /** Decodes a live event once for all the local followers of a reply (they are called in a row). */
  private decode(payload: string): RunEvent {
    if (payload !== this.lastDecoded?.payload) this.lastDecoded = { payload, event: decodeEvent(payload) };
    return this.lastDecoded.event;
  }

  private key(messageId: string): string {
    return `${this.redis.prefix}run:${messageId}`;
  }

  private publishFailed(messageId: string, error: unknown): void {
    // Once per outage: the run goes on, its text is saved, and followers catch up from the database.
    if (this.publishFailing) return;
    this.publishFailing = true;
    this.logger.warn({ err: error, messageId }, "could not share run events through Redis");
  }
}

/** The seq a stream entry id `<seq>-0` stands for. */
function seqOf(entryId: string): number {
  return Number(entryId.slice(0, entryId.indexOf("-")));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Connects to Redis and builds the run network with the settings derived from the configuration. */
export async function connectRunNetwork(
  redis: { url: string; keyPrefix: string },
  settings: {
    historyEvents: number;
    leaseMs: number;
    flushIntervalMs: number;
    onFollowerAttached?: (messageId: string) => void;
  },
  prisma: Db,
  logger: Logger,
): Promise<RedisRunNetwork> {
  const connections = connectRedis(redis.url, redis.keyPrefix, logger);
  if (!(await connections.ready(5_000))) {
    logger.warn("Redis is not reachable yet: not ready until it is; replies are followed from the database");
  }
  return new RedisRunNetwork(connections, prisma, logger, {
    historyEvents: settings.historyEvents,
    runningTtlMs: Math.max(4 * settings.leaseMs, 60_000),
    retentionMs: FINISHED_RETENTION_MS,
    stopWaitMs: 5_000,
    follow: { gapRetryMs: settings.flushIntervalMs, outagePollMs: 2_000, idleCheckMs: 30_000 },
    onFollowerAttached: settings.onFollowerAttached,
  });
}

/** How long a finished reply's events stay in Redis; later, the database answers resumers alone. */
const FINISHED_RETENTION_MS = 60_000;
