import { afterAll, describe, expect, it } from "vitest";
import { RedisLimitStore } from "../../src/limits/redis-store.js";
import { type LimitStore, MemoryLimitStore } from "../../src/limits/store.js";
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
