import { LeaseKeeper } from "./agent/leases.js";
import type { RunNetwork } from "./agent/network.js";
import { combineObservers } from "./agent/observer.js";
import type { ModelProvider } from "./agent/provider.js";
import { failAbandonedReplies, RunManager } from "./agent/runs.js";
import { selectProvider } from "./agent/select-provider.js";
import { createAuthenticator } from "./auth.js";
import type { Config } from "./config.js";
import type { DatabaseTarget } from "./db/adapter.js";
import type { Db } from "./db/client.js";
import { connect, targetFromConfig } from "./db/connect.js";
import { PersistedOperations } from "./http/persisted-operations.js";
import { RateLimiter } from "./limits/rate-limiter.js";
import { type LimitStore, MemoryLimitStore } from "./limits/store.js";
import { OpenStreams } from "./limits/streams.js";
import type { Logger } from "./logger.js";
import { createMetrics } from "./metrics.js";
import { createAppPubSub } from "./pubsub.js";
import { Readiness } from "./readiness.js";
import type { Tracing } from "./tracing.js";

/**
 * The long-lived parts of a server process, built from the configuration: database, pub/sub, model
 * provider, runs (with Redis: the run network shared with the other instances, and the leases of running
 * replies), limits, metrics and readiness checks. `close` winds them down in order (runs first, so replies
 * are saved and their last events shared).
 */
export async function createRuntime(
  config: Config,
  logger: Logger,
  overrides: { target?: DatabaseTarget; provider?: ModelProvider; limitStore?: LimitStore } = {},
) {
  const target = overrides.target ?? targetFromConfig(config.database);
  const db = await connect(target, { migrate: config.migrateOnStart });
  const pubsub = createAppPubSub();
  const provider = overrides.provider ?? selectProvider(config.openai);
  // Redis and OpenTelemetry are loaded only when configured: a server without them starts faster.
  const limitStore = overrides.limitStore ?? (await createLimitStore(config));
  const network = await createRunNetwork(config, db.prisma, logger);
  const readiness = new Readiness((name, error) => logger.warn({ check: name, err: error }, "not ready"));
  const tracing: Tracing | null = config.tracing
    ? (await import("./tracing.js")).startTracing(config.tracing, logger)
    : null;
  // The gauges read these at scrape time, once both exist.
  const metrics = createMetrics({ runningReplies: () => runs.size, openStreams: () => streams.size });
  const runs = new RunManager({
    prisma: db.prisma,
    pubsub,
    provider,
    logger,
    settings: config.runs,
    observer: combineObservers(metrics.runs, tracing?.observer),
    network,
  });
  // With Redis, other instances may be writing replies right now: only those whose lease expired are
  // abandoned. Alone, every reply still streaming was cut off by a crash.
  const leases =
    network &&
    new LeaseKeeper({
      prisma: db.prisma,
      network,
      logger,
      leaseMs: config.runLeaseMs,
      running: () => runs.ids(),
    });
  if (leases) {
    await leases.sweep();
    leases.start();
  } else {
    const recovered = await failAbandonedReplies(db.prisma);
    if (recovered > 0) logger.warn({ replies: recovered }, "marked replies interrupted by a crash as FAILED");
  }
  const streams = new OpenStreams(limitStore, config.streams, metrics.limited);
  const limits = new RateLimiter(limitStore, config.rateLimits, metrics.limited);
  const persisted = config.persistedOperations.file
    ? await PersistedOperations.load(config.persistedOperations.file, config.persistedOperations.only)
    : null;

  readiness.add("database", () => db.prisma.$queryRaw`SELECT 1`);
  if (config.redisUrl) {
    // One check for Redis, whichever of its uses (shared limits, the run network) lost it.
    readiness.add("redis", async () => {
      await limitStore.ping();
      if (network && !(await network.isReady())) throw new Error("the run network cannot reach Redis");
    });
  }
  readiness.add("accepting", async () => {
    if (!runs.isAccepting) throw new Error("shutting down");
  });

  return {
    config,
    logger,
    db,
    prisma: db.prisma,
    pubsub,
    provider,
    runs,
    limits,
    streams,
    metrics,
    readiness,
    persisted,
    tracing,
    authenticate: createAuthenticator(config.auth),
    /** Refuses new replies; lets running ones finish within the grace period, then cancels and saves them. */
    stopRuns: (graceMs = config.shutdownGraceMs) => runs.shutdown(graceMs),
    /** Cancels and saves whatever still runs, ends open streams, then closes the stores. */
    async close() {
      await runs.shutdown(0);
      await leases?.stop();
      await network?.close();
      await streams.closeAll();
      await limitStore.close();
      await tracing?.shutdown();
      await db.close();
    },
  };
}

async function createLimitStore(config: Config): Promise<LimitStore> {
  if (!config.redisUrl) return new MemoryLimitStore();
  const { RedisLimitStore } = await import("./limits/redis-store.js");
  return new RedisLimitStore(config.redisUrl, config.rateLimits.keyPrefix);
}

async function createRunNetwork(config: Config, prisma: Db, logger: Logger): Promise<RunNetwork | undefined> {
  if (!config.redisUrl) return undefined;
  const { connectRunNetwork } = await import("./cluster/redis-network.js");
  return connectRunNetwork(
    { url: config.redisUrl, keyPrefix: config.redisKeyPrefix },
    {
      historyEvents: config.runs.eventBufferSize,
      leaseMs: config.runLeaseMs,
      flushIntervalMs: config.runs.flush.intervalMs,
    },
    prisma,
    logger,
  );
}

/** The running process's parts, as the HTTP app receives them. */
export type Runtime = Awaited<ReturnType<typeof createRuntime>>;
