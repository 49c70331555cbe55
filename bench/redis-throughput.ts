// Scale-out benchmark: stream events per second that one instance delivers in memory, the same instance
// backed by Redis (its events also go to a Redis Stream and channel), and a second instance following
// the first one's replies through Redis. Same load, same run, alternating modes each round.
//
//   npm run bench:redis      (env: BENCH_REPLIES, BENCH_TOKENS, BENCH_ROUNDS, BENCH_POSTGRES_URL,
//                             BENCH_REDIS_URL)
//
// Needs the PostgreSQL (a throwaway database is created and dropped) and Redis (a unique key prefix,
// deleted afterwards) of the machine. The model is in-process and streams as fast as the server takes it,
// so the server, not the model, is what is measured; clients read real SSE over loopback HTTP.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { Redis } from "ioredis";
import pg from "pg";
import type { ModelEvent, ModelProvider, ModelRequest } from "../src/agent/provider.js";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { createRuntime } from "../src/runtime.js";
import { createApp } from "../src/yoga.js";

const REPLIES = Number(process.env.BENCH_REPLIES ?? 40);
const TOKENS = Number(process.env.BENCH_TOKENS ?? 250);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";

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

async function startInstance(databaseUrl: string, redis: { prefix: string } | null): Promise<Instance> {
  const config = loadConfig({
    NODE_ENV: "test",
    AUTH_DEV_MODE: "true",
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: "10",
    ...(redis ? { REDIS_URL, REDIS_KEY_PREFIX: redis.prefix } : {}),
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

interface Result {
  events: number;
  seconds: number;
}

/** `REPLIES` concurrent sends to `sender`; with `follower`, each reply is also followed there from seq 0. */
async function load(
  sender: Instance,
  follower: Instance | null,
): Promise<{ sent: Result; followed?: Result }> {
  const started = performance.now();
  const followed: Promise<number>[] = [];
  const sends = Array.from({ length: REPLIES }, (_, i) =>
    subscribe(sender.url, SEND, { content: `bench ${i}` }, (id) => {
      if (follower) followed.push(subscribe(follower.url, FOLLOW, { id }));
    }),
  );
  const sentEvents = (await Promise.all(sends)).reduce((a, b) => a + b, 0);
  const sentSeconds = (performance.now() - started) / 1000;
  if (!follower) return { sent: { events: sentEvents, seconds: sentSeconds } };
  const followedEvents = (await Promise.all(followed)).reduce((a, b) => a + b, 0);
  const followedSeconds = (performance.now() - started) / 1000;
  return {
    sent: { events: sentEvents, seconds: sentSeconds },
    followed: { events: followedEvents, seconds: followedSeconds },
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

async function main() {
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  const dbName = `bench_redis_${randomBytes(4).toString("hex")}`;
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const dbUrl = new URL(POSTGRES_URL);
  dbUrl.pathname = `/${dbName}`;
  const prefix = `bench:${randomBytes(4).toString("hex")}:`;
  const instances: Instance[] = [];
  try {
    const memory = await startInstance(dbUrl.toString(), null);
    const redisA = await startInstance(dbUrl.toString(), { prefix });
    const redisB = await startInstance(dbUrl.toString(), { prefix });
    instances.push(memory, redisA, redisB);
    const modes = {
      "in-memory, 1 instance": () => load(memory, null),
      "Redis, 1 instance": () => load(redisA, null),
      "Redis, followed on a 2nd instance": () => load(redisA, redisB),
    };
    console.log(
      `${REPLIES} concurrent replies x ${TOKENS} tokens (${REPLIES * (TOKENS + 3)} events per load), ${ROUNDS} rounds + 1 warm-up`,
    );
    const rates: Record<string, number[]> = {};
    const followRates: number[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      for (const [name, run] of Object.entries(modes)) {
        const result = await run();
        if (round === 0) continue; // warm-up
        rates[name] = [...(rates[name] ?? []), result.sent.events / result.sent.seconds];
        if (result.followed) followRates.push(result.followed.events / result.followed.seconds);
      }
    }
    const baseline = median(rates["in-memory, 1 instance"] ?? []);
    console.log("\nmode                                  events/s delivered (median)   vs in-memory");
    for (const [name, values] of Object.entries(rates)) {
      const m = median(values);
      console.log(
        `${name.padEnd(38)}${m.toFixed(0).padStart(12)}                  ${(m / baseline).toFixed(2)}x`,
      );
    }
    const f = median(followRates);
    console.log(
      `${"  ...to the followers on the 2nd".padEnd(38)}${f.toFixed(0).padStart(12)}                  ${(f / baseline).toFixed(2)}x`,
    );
    console.log("\nper round (events/s):");
    for (const [name, values] of Object.entries(rates))
      console.log(`  ${name}: ${values.map((v) => v.toFixed(0)).join(", ")}`);
    console.log(`  followers on the 2nd: ${followRates.map((v) => v.toFixed(0)).join(", ")}`);
  } finally {
    for (const instance of instances) await instance.close();
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}

await main();
