import { Redis } from "ioredis";
import type { LimitStore, SlotGrant, WindowHit } from "./store.js";

// Both scripts read the clock from Redis (TIME), so instances with skewed clocks still share one window.

/** INCR with the window's expiry set on the first hit; returns [count, ms until the window resets]. */
const HIT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
`;

/** A sorted set of holders scored by expiry: drop the expired, then add when there is room. */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or held < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ttl)
  return {1, redis.call('ZCARD', KEYS[1])}
end
return {0, held}
`;

/** The shared store: every instance pointed at the same Redis (and key prefix) counts together. */
export class RedisLimitStore implements LimitStore {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly prefix: string,
  ) {
    // Fail fast instead of queueing commands while Redis is away: a limit check must not hang a request.
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true, lazyConnect: false });
    // Connection errors surface on the commands (and in readiness); the client reconnects by itself.
    this.redis.on("error", () => {});
  }

  async hit(key: string, limit: number, windowMs: number): Promise<WindowHit> {
    const [count, ttl] = (await this.redis.eval(HIT, 1, this.prefix + key, windowMs)) as [number, number];
    return { allowed: count <= limit, count, resetInMs: ttl };
  }

  async acquire(key: string, holder: string, limit: number, ttlMs: number): Promise<SlotGrant> {
    const [acquired, held] = (await this.redis.eval(ACQUIRE, 1, this.prefix + key, holder, limit, ttlMs)) as [
      number,
      number,
    ];
    return { acquired: acquired === 1, held };
  }

  async release(key: string, holder: string): Promise<void> {
    await this.redis.zrem(this.prefix + key, holder);
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
