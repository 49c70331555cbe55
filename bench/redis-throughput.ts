// Scale-out benchmark: stream events per second that one instance delivers in memory, the same instance
// backed by Redis (its events also go to a Redis Stream and channel), and a second instance following
// the first one's replies through Redis. Same load, same run, modes alternating within each round.
//
//   npm run bench:redis      (env: BENCH_REPLIES, BENCH_TOKENS, BENCH_ROUNDS, BENCH_POSTGRES_URL,
//                             BENCH_REDIS_URL)
//
// Needs the machine's PostgreSQL (a throwaway database is created and dropped) and `redis-server` (a
// private one is started on a free port, so its CPU time is this benchmark's alone; or BENCH_REDIS_URL).
// The model is in-process and streams as fast as the server takes it, so the server, not the model, is
// measured; clients read real SSE over loopback HTTP. Besides wall-clock events/s (sensitive to whatever
// else runs on the machine), it reports CPU time per delivered event: this process's (servers and
// clients) and Redis's.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { Redis } from "ioredis";
import pg from "pg";
import type { ModelEvent, ModelProvider, ModelRequest } from "../src/agent/model/provider.js";
import { createApp } from "../src/app/create-app.js";
import { createRuntime } from "../src/app/runtime.js";
import { loadConfig } from "../src/core/config.js";
import { createLogger } from "../src/observability/logger.js";
import { median } from "./lib/stats.js";

const REPLIES = Number(process.env.BENCH_REPLIES ?? 40);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 250);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/test";

/** A model that streams `TOKENS` short deltas, letting the event loop run between them. */
class FloodProvider implements ModelProvider {
  readonly label = "bench flood";
  readonly defaultModel = "flood";
  async *stream(request: ModelRequest): AsyncIterable<ModelEvent> {
    for (let i = 0; i < TOKENS; i++) {
      await yieldToLoop();
      request.signal.throwIfAborted();
      yield { type: "text", delta: `t${i} ` };
    }
    yield { type: "usage", usage: { promptTokens: 1, completionTokens: TOKENS, totalTokens: TOKENS + 1 } };
    yield { type: "finish", reason: "stop" };
  }
}

const SEND = `subscription Send($content: String!) {
  sendMessage(input: { content: $content }) {
    __typename
    ... on MessageCreated { seq message { id role } }
    ... on TextDelta { seq delta }
    ... on MessageCompleted { seq message { status } }
  }
}`;
const FOLLOW = `subscription Follow($id: ID!) {
  messageStream(messageId: $id, afterSeq: 0) {
    __typename
    ... on MessageCreated { seq }
    ... on TextDelta { seq delta }
    ... on MessageCompleted { seq message { status } }
  }
}`;

interface Instance {
  url: string;
  close(): Promise<void>;
}

async function startInstance(
  databaseUrl: string,
  redis: { url: string; prefix: string } | null,
): Promise<Instance> {
  const config = loadConfig({
    NODE_ENV: "test",
    AUTH_DEV_MODE: "true",
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: "10",
    // One user sends every reply here: the per-user limits would measure themselves, not the streams.
    RATE_LIMIT_REQUESTS_PER_MINUTE: "1000000",
    RATE_LIMIT_MESSAGES_PER_MINUTE: "1000000",
    RATE_LIMIT_CONCURRENT_REPLIES: "1000000",
    RATE_LIMIT_TOKENS_PER_DAY: "0",
    MAX_STREAMS_PER_USER: "1000000",
    ...(redis ? { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix } : {}),
  });
  const runtime = await createRuntime(config, createLogger({ level: "error" }), {
    provider: new FloodProvider(),
  });
  const app = createApp(runtime);
  const server = createServer(app);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await runtime.close();
      await app.dispose();
    },
  };
}

/** Starts a private `redis-server` on a free port, without persistence. */
async function startRedis(): Promise<{ url: string; stop: () => void }> {
  const probe = createServer();
  probe.listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    child.on("error", reject);
    child.stdout.on("data", (d) => {
      output += d;
      if (output.includes("Ready to accept connections")) resolve();
    });
  });
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill() };
}

/** Reads one SSE subscription to its end; returns the events and the assistant message id. */
async function subscribe(url: string, query: string, variables: object, onAssistant?: (id: string) => void) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify({ query, variables }),
  });
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
  if (!reader) throw new Error("no body");
  let buffered = "";
  let events = 0;
  let created = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    let end = buffered.indexOf("\n\n");
    while (end !== -1) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      end = buffered.indexOf("\n\n");
      if (!block.startsWith("event: next")) continue;
      events++;
      if (onAssistant && block.includes('"MessageCreated"') && ++created === 2) {
        onAssistant(/"id":"([^"]+)"/.exec(block)?.[1] ?? "");
      }
    }
  }
  return events;
}

interface Load {
  /** Events delivered to the senders' clients, and to the followers' (second instance). */
  sent: number;
  followed: number;
  /** Wall-clock seconds until the senders' streams ended, and until the followers' did. */
  sentSeconds: number;
  followedSeconds: number;
}

/** `REPLIES` concurrent sends to `sender`; with `follower`, each reply is also followed there from seq 0. */
async function load(sender: Instance, follower: Instance | null): Promise<Load> {
  const started = performance.now();
  const followed: Promise<number>[] = [];
  const sends = Array.from({ length: REPLIES }, (_, i) =>
    subscribe(sender.url, SEND, { content: `bench ${i}` }, (id) => {
      if (follower) followed.push(subscribe(follower.url, FOLLOW, { id }));
    }),
  );
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const sent = sum(await Promise.all(sends));
  const sentSeconds = (performance.now() - started) / 1000;
  const followedEvents = sum(await Promise.all(followed));
  return {
    sent,
    followed: followedEvents,
    sentSeconds,
    followedSeconds: (performance.now() - started) / 1000,
  };
}

/** CPU seconds used so far by this process and by Redis. */
async function cpuNow(redis: Redis): Promise<{ process: number; redis: number }> {
  const usage = process.cpuUsage();
  const info = await redis.info("cpu");
  const field = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return {
    process: (usage.user + usage.system) / 1e6,
    redis: field("used_cpu_user") + field("used_cpu_sys"),
  };
}

/** Per mode: events/s to the senders' clients, to the followers, and CPU µs per delivered event. */
interface Samples {
  sentRate: number[];
  followedRate: number[];
  processCpu: number[];
  redisCpu: number[];
}

async function main() {
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  const dbName = `bench_redis_${randomBytes(4).toString("hex")}`;
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const dbUrl = new URL(POSTGRES_URL);
  dbUrl.pathname = `/${dbName}`;
  const prefix = `bench:${randomBytes(4).toString("hex")}:`;
  const own = process.env.BENCH_REDIS_URL ? null : await startRedis();
  const redisUrl = process.env.BENCH_REDIS_URL ?? (own?.url as string);
  const probe = new Redis(redisUrl);
  const instances: Instance[] = [];
  try {
    const memory = await startInstance(dbUrl.toString(), null);
    const redisA = await startInstance(dbUrl.toString(), { url: redisUrl, prefix });
    const redisB = await startInstance(dbUrl.toString(), { url: redisUrl, prefix });
    instances.push(memory, redisA, redisB);
    const modes: Record<string, () => Promise<Load>> = {
      "in-memory, 1 instance": () => load(memory, null),
      "Redis, 1 instance": () => load(redisA, null),
      "Redis, followed on a 2nd instance": () => load(redisA, redisB),
    };
    console.log(
      `${REPLIES} concurrent replies x ${TOKENS} tokens (${REPLIES * (TOKENS + 3)} events per load), ` +
        `${ROUNDS} rounds after a warm-up; Redis at ${redisUrl}`,
    );
    const samples = new Map<string, Samples>();
    for (let round = 0; round <= ROUNDS; round++) {
      for (const [name, run] of Object.entries(modes)) {
        const before = await cpuNow(probe);
        const result = await run();
        const after = await cpuNow(probe);
        if (round === 0) continue; // warm-up
        const delivered = result.sent + result.followed;
        const s = samples.get(name) ?? { sentRate: [], followedRate: [], processCpu: [], redisCpu: [] };
        s.sentRate.push(result.sent / result.sentSeconds);
        if (result.followed > 0) s.followedRate.push(result.followed / result.followedSeconds);
        s.processCpu.push(((after.process - before.process) / delivered) * 1e6);
        s.redisCpu.push(((after.redis - before.redis) / delivered) * 1e6);
        samples.set(name, s);
      }
    }
    const base = samples.get("in-memory, 1 instance") as Samples;
    const baseRate = median(base.sentRate);
    const baseCpu = median(base.processCpu) + median(base.redisCpu);
    const pad = (text: string, width: number) => text.padStart(width);
    console.log(
      `\n${"medians".padEnd(36)}${pad("events/s", 10)}${pad("vs mem", 8)}${pad("followers ev/s", 16)}` +
        `${pad("CPU µs/event", 14)}${pad("of it Redis", 13)}${pad("vs mem", 8)}`,
    );
    for (const [name, s] of samples) {
      const rate = median(s.sentRate);
      const cpu = median(s.processCpu) + median(s.redisCpu);
      const followers = s.followedRate.length > 0 ? median(s.followedRate).toFixed(0) : "-";
      console.log(
        `${name.padEnd(36)}${pad(rate.toFixed(0), 10)}${pad(`${(rate / baseRate).toFixed(2)}x`, 8)}` +
          `${pad(followers, 16)}${pad(cpu.toFixed(1), 14)}${pad(median(s.redisCpu).toFixed(1), 13)}` +
          `${pad(`${(cpu / baseCpu).toFixed(2)}x`, 8)}`,
      );
    }
    console.log("\nper round, events/s to the senders' clients:");
    for (const [name, s] of samples)
      console.log(`  ${name}: ${s.sentRate.map((v) => v.toFixed(0)).join(", ")}`);
  } finally {
    for (const instance of instances) await instance.close();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
    const keys = await probe.keys(`${prefix}*`);
    if (keys.length > 0) await probe.del(...keys);
    probe.disconnect();
    own?.stop();
  }
}

await main();
