import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";

/** The Redis the tests use (a missing Redis fails the suites that need it; they never skip). */
export const testRedisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/** A key prefix of its own for one suite, so parallel runs never share counters. */
export function uniqueRedisPrefix(): string {
  return `test:${Date.now().toString(36)}:${randomBytes(4).toString("hex")}:`;
}

/** Deletes every key under `prefix` (after a suite). */
export async function dropRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 1 });
  try {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}
