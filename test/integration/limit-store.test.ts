import { Writable } from "node:stream";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/limits/rate-limiter.js";
import { RedisLimitStore } from "../../src/limits/redis-store.js";
import { type LimitStore, MemoryLimitStore } from "../../src/limits/store.js";
import { OpenStreams } from "../../src/limits/streams.js";
import { createLogger } from "../../src/observability/logger.js";
import { startProxy } from "../utils/proxy.js";
import { dropRedisPrefix, testRedisUrl, uniqueRedisPrefix } from "../utils/redis.js";

const prefix = uniqueRedisPrefix();
const stores: [string, () => LimitStore][] = [
  ["memory", () => new MemoryLimitStore()],
  ["redis", () => new RedisLimitStore(testRedisUrl, prefix)],
];
afterAll(() => dropRedisPrefix(prefix));

// One suite, two stores: the in-process store and the shared Redis store must give the same answers.
describe.each(stores)("limit store: %s", (name, make) => {
  const key = (k: string) => `${name}:${k}:${Math.random().toString(36).slice(2)}`;

  it("allows `limit` hits per window, then refuses with the time left in the window", async () => {
    const store = make();
    const k = key("hits");
    const hits = [];
    for (let i = 0; i < 4; i++) hits.push(await store.hit(k, 3, 60_000));
    expect(hits.map((h) => h.allowed)).toEqual([true, true, true, false]);
    expect(hits.map((h) => h.count)).toEqual([1, 2, 3, 4]);
    expect(hits[3]?.resetInMs).toBeGreaterThan(50_000);
    expect(hits[3]?.resetInMs).toBeLessThanOrEqual(60_000);
    await store.close();
  });

  it("starts a new window when the old one has passed", async () => {
    const store = make();
    const k = key("window");
    expect((await store.hit(k, 1, 150)).allowed).toBe(true);
    expect((await store.hit(k, 1, 150)).allowed).toBe(false);
    await new Promise((r) => setTimeout(r, 250));
    expect((await store.hit(k, 1, 150)).allowed).toBe(true);
    await store.close();
  });

  it("hands out at most `limit` slots, idempotently per holder, and takes them back on release", async () => {
    const store = make();
    const k = key("slots");
    expect(await store.acquire(k, "a", 2, 60_000)).toEqual({ acquired: true, held: 1 });
    expect(await store.acquire(k, "a", 2, 60_000)).toEqual({ acquired: true, held: 1 });
    expect(await store.acquire(k, "b", 2, 60_000)).toEqual({ acquired: true, held: 2 });
    expect(await store.acquire(k, "c", 2, 60_000)).toEqual({ acquired: false, held: 2 });
    await store.release(k, "a");
    await store.release(k, "never-held");
    expect(await store.acquire(k, "c", 2, 60_000)).toEqual({ acquired: true, held: 2 });
    await store.close();
  });

  it("frees a slot whose holder never released it once its time is up", async () => {
    const store = make();
    const k = key("expiry");
    expect((await store.acquire(k, "crashed", 1, 150)).acquired).toBe(true);
    expect((await store.acquire(k, "next", 1, 150)).acquired).toBe(false);
    await new Promise((r) => setTimeout(r, 250));
    expect((await store.acquire(k, "next", 1, 150)).acquired).toBe(true);
    await store.close();
  });

  it("answers a ping", async () => {
    const store = make();
    await expect(store.ping()).resolves.toBeUndefined();
    await store.close();
  });
});

describe("redis limit store", () => {
  it("shares counts between two clients (two server instances) with the same prefix", async () => {
    const a = new RedisLimitStore(testRedisUrl, prefix);
    const b = new RedisLimitStore(testRedisUrl, prefix);
    const k = `shared:${Math.random().toString(36).slice(2)}`;
    expect((await a.hit(k, 2, 60_000)).allowed).toBe(true);
    expect((await b.hit(k, 2, 60_000)).allowed).toBe(true);
    expect((await a.hit(k, 2, 60_000)).allowed).toBe(false);
    expect((await a.acquire(`${k}:slots`, "x", 1, 60_000)).acquired).toBe(true);
    expect((await b.acquire(`${k}:slots`, "y", 1, 60_000)).acquired).toBe(false);
    await Promise.all([a.close(), b.close()]);
  });

  it("fails a ping (readiness) when Redis is unreachable", async () => {
    const store = new RedisLimitStore("redis://127.0.0.1:1", prefix);
    await expect(store.ping()).rejects.toThrow();
    await store.close();
  });
});

// A release that cannot reach Redis must neither throw into the stream or reply that ended nor go unseen,
// and must not lock the user out: the slot expires by itself.
describe("slot releases while Redis is unreachable", () => {
  /** A store that reaches Redis through a proxy the test can close; a logger that keeps its lines. */
  async function unreliable() {
    const proxy = await startProxy(testRedisUrl);
    const store = new RedisLimitStore(`redis://127.0.0.1:${new URL(proxy.url).port}`, prefix);
    const lines: { level: number; msg: string; slot?: string; holder?: string; err?: { message: string } }[] =
      [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    return { proxy, store, lines, logger: createLogger({ level: "warn", destination }) };
  }
  const warnings = <T extends { level: number }>(lines: T[]) => lines.filter((l) => l.level === 40);

  it("logs a failed stream-slot release with the slot and the error; the slot keeps its expiry", async () => {
    const { proxy, store, lines, logger } = await unreliable();
    const direct = new Redis(testRedisUrl);
    const user = `u-${Math.random().toString(36).slice(2)}`;
    const streams = new OpenStreams(
      store,
      { perUser: 1, idleTimeoutMs: 60_000, maxDurationMs: 1_000 },
      logger,
    );
    const lease = await streams.reserve(user);
    await proxy.close(); // Redis unreachable for the release
    await expect(lease.release()).resolves.toBeUndefined();
    const [warning] = warnings(lines);
    expect(warning).toMatchObject({ slot: `streams:${user}`, holder: lease.id });
    expect(warning?.err?.message).toBeTruthy();
    // Still held, but both the holder's score and the key carry an expiry (the stream's longest life plus
    // its margin): the user gets the slot back then at the latest.
    const key = `${prefix}streams:${user}`;
    const [score, pttl] = await Promise.all([direct.zscore(key, lease.id), direct.pttl(key)]);
    expect(Number(score)).toBeGreaterThan(Date.now());
    expect(Number(score)).toBeLessThanOrEqual(Date.now() + 61_000);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(61_000);
    direct.disconnect();
    await store.close();
  });

  it("logs a failed reply-slot release without throwing", async () => {
    const { proxy, store, lines, logger } = await unreliable();
    const user = `u-${Math.random().toString(36).slice(2)}`;
    const settings = {
      requestsPerMinute: 100,
      anonymousPerMinute: 100,
      sharedPerMinute: 100,
      messagesPerMinute: 100,
      concurrentReplies: 1,
      tokensPerDay: 0,
      keyPrefix: prefix,
    };
    const limiter = new RateLimiter(store, settings, logger);
    const slot = await limiter.beforeSend(user, "reply-1");
    await proxy.close();
    await expect(slot.release()).resolves.toBeUndefined();
    expect(warnings(lines)[0]).toMatchObject({ slot: `rl:replies:${user}`, holder: "reply-1" });
    await store.close();
  });

  it("frees a slot whose release failed once its expiry passes", async () => {
    const { proxy, store } = await unreliable();
    const other = new RedisLimitStore(testRedisUrl, prefix);
    const k = `expiring:${Math.random().toString(36).slice(2)}`;
    expect((await store.acquire(k, "lost", 1, 1_000)).acquired).toBe(true);
    await proxy.close();
    await expect(store.release(k, "lost")).rejects.toThrow();
    expect((await other.acquire(k, "next", 1, 60_000)).acquired).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await other.acquire(k, "next", 1, 60_000)).acquired).toBe(true);
    await Promise.all([store.close(), other.close()]);
  });
});
