import type { Config } from "../core/config.js";
import { RateLimitedError } from "../core/errors.js";
import type { Db } from "../db/client.js";
import { quotaUsedUp, type TokenQuota } from "../db/usage.js";
import type { Logger } from "../observability/logger.js";
import { secondsUntilNextUtcDay, startOfUtcDay } from "./quota.js";
import { HeldSlot } from "./slots.js";
import type { LimitStore } from "./store.js";

const MINUTE_MS = 60_000;
/**
 * How long a running reply keeps its concurrency slot at most: the slot is released when the reply ends,
 * this only bounds what a crashed instance leaves behind.
 */
const REPLY_SLOT_TTL_MS = 30 * MINUTE_MS;
/** The retry hint for a full concurrency limit: replies end at unknown times, so ask to check back soon. */
const CONCURRENCY_RETRY_SECONDS = 5;

/** Called when a limit refuses something, for metrics. */
export type OnLimited = (limit: string) => void;

/** A held concurrency slot; `release` is idempotent and never rejects (a failure is logged, the slot expires). */
export interface ReplySlot {
  release(): Promise<void>;
}

/**
 * The per-user (per-IP when anonymous) rates and quotas. Each check either passes or throws
 * `RATE_LIMITED` with `retryAfter`; checks run before anything is written.
 */
export class RateLimiter {
  constructor(
    private readonly store: LimitStore,
    private readonly settings: Config["rateLimits"],
    private readonly logger: Logger,
    private readonly onLimited: OnLimited = () => {},
  ) {}

  /** Counts one GraphQL request: per user when signed in, per client address otherwise. */
  async request(viewerId: string | null, clientIp: string): Promise<void> {
    const [key, limit] =
      viewerId === null
        ? [`rl:ip:${clientIp}`, this.settings.anonymousPerMinute]
        : [`rl:user:${viewerId}`, this.settings.requestsPerMinute];
    const hit = await this.store.hit(key, limit, MINUTE_MS);
    if (!hit.allowed) {
      throw this.refuse("requests", `Too many requests: at most ${limit} a minute`, hit.resetInMs / 1000);
    }
  }

  /**
   * Counts one read of a share link, per client address whoever asks: tokens are unguessable, but a
   * public, unauthenticated read must not be a free oracle or a free load.
   */
  async sharedRead(clientIp: string): Promise<void> {
    const limit = this.settings.sharedPerMinute;
    const hit = await this.store.hit(`rl:share:${clientIp}`, limit, MINUTE_MS);
    if (!hit.allowed) {
      throw this.refuse(
        "shared",
        `Too many share link reads: at most ${limit} a minute`,
        hit.resetInMs / 1000,
      );
    }
  }

  /**
   * The daily token quota (from recorded usage) as the send's statement checks it, or null when there is none:
   * a send that saved nothing then asks {@link refuseOverQuota} whether the quota was the reason.
   */
  tokenQuota(now = new Date()): TokenQuota | null {
    const limit = this.settings.tokensPerDay;
    return limit > 0 ? { since: startOfUtcDay(now), limit } : null;
  }

  /**
   * Refuses (`RATE_LIMITED`, until the next UTC midnight) when the user has used up `quota`, the one the
   * send's statement checked.
   */
  async refuseOverQuota(prisma: Db, viewerId: string, quota: TokenQuota | null): Promise<void> {
    if (quota === null || !(await quotaUsedUp(prisma, viewerId, quota))) return;
    throw this.refuse(
      "tokens",
      `Daily token quota of ${quota.limit} used up; it renews at midnight UTC`,
      secondsUntilNextUtcDay(new Date()),
    );
  }

  /**
   * What a new message must pass before it is saved, besides the token quota (checked by the statement that
   * saves it): a slot among the user's concurrent replies (held by `replyId` until released), and messages
   * per minute.
   */
  async beforeSend(viewerId: string, replyId: string): Promise<ReplySlot> {
    const { messagesPerMinute, concurrentReplies } = this.settings;
    // The slot first: a send refused for concurrency does not use up the minute's messages.
    const key = `rl:replies:${viewerId}`;
    const slot = new HeldSlot(this.store, this.logger, key, replyId, REPLY_SLOT_TTL_MS);
    const grant = await this.store.acquire(key, replyId, concurrentReplies, REPLY_SLOT_TTL_MS);
    if (!grant.acquired) {
      throw this.refuse(
        "replies",
        `Too many replies running: at most ${concurrentReplies} at once; wait for one to finish or stop it`,
        CONCURRENCY_RETRY_SECONDS,
      );
    }
    const hit = await this.store.hit(`rl:messages:${viewerId}`, messagesPerMinute, MINUTE_MS);
    if (!hit.allowed) {
      await slot.release();
      throw this.refuse(
        "messages",
        `Too many messages: at most ${messagesPerMinute} a minute`,
        hit.resetInMs / 1000,
      );
    }
    return slot;
  }

  private refuse(limit: string, message: string, retryAfterSeconds: number): RateLimitedError {
    this.onLimited(limit);
    return new RateLimitedError(limit, message, retryAfterSeconds);
  }
}
