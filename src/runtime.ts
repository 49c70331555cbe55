import { LeaseKeeper } from "./agent/leases.js";
import type { ModelProvider } from "./agent/provider.js";
import { failAbandonedReplies, RunManager } from "./agent/runs.js";
import { selectProvider } from "./agent/select-provider.js";
import { createAuthenticator } from "./auth.js";
import { connectRunNetwork } from "./cluster/redis-network.js";
import type { Config } from "./config.js";
import type { DatabaseTarget } from "./db/adapter.js";
import { connect, targetFromConfig } from "./db/connect.js";
import type { Logger } from "./logger.js";
import { createAppPubSub } from "./pubsub.js";

/**
 * The long-lived parts of a server process, built from the configuration: database, pub/sub, model
 * provider, runs, and with Redis the run network and the leases of running replies. `close` winds them down in order (runs first, so replies are saved).
 */
export async function createRuntime(
  config: Config,
  logger: Logger,
  overrides: { target?: DatabaseTarget; provider?: ModelProvider } = {},
) {
  const target = overrides.target ?? targetFromConfig(config.database);
  const db = await connect(target, { migrate: config.migrateOnStart });
  const pubsub = createAppPubSub();
  const provider = overrides.provider ?? selectProvider(config.openai);
  // With Redis, other instances may be writing replies right now: only those whose lease expired are
  // abandoned. Alone, every reply still streaming was cut off by a crash.
  const network = config.redisUrl
    ? await connectRunNetwork(
        { url: config.redisUrl, keyPrefix: config.redisKeyPrefix },
        {
          historyEvents: config.runs.eventBufferSize,
          leaseMs: config.runLeaseMs,
          flushIntervalMs: config.runs.flush.intervalMs,
        },
        db.prisma,
        logger,
      )
    : undefined;
  const runs = new RunManager({
    prisma: db.prisma,
    pubsub,
    provider,
    logger,
    settings: config.runs,
    network,
  });
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
  return {
    config,
    logger,
    db,
    prisma: db.prisma,
    pubsub,
    provider,
    runs,
    authenticate: createAuthenticator(config.auth),
    /** Refuses new replies; lets running ones finish within the grace period, then cancels and saves them. */
    stopRuns: (graceMs = config.shutdownGraceMs) => runs.shutdown(graceMs),
    /** Cancels and saves whatever still runs, then closes Redis and the database. */
    async close() {
      await runs.shutdown(0);
      await leases?.stop();
      await network?.close();
      await db.close();
    },
  };
}

/** The running process's parts, as the HTTP app receives them. */
export type Runtime = Awaited<ReturnType<typeof createRuntime>>;
