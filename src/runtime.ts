import type { ModelProvider } from "./agent/provider.js";
import { failAbandonedReplies, RunManager } from "./agent/runs.js";
import { selectProvider } from "./agent/select-provider.js";
import { createAuthenticator } from "./auth.js";
import type { Config } from "./config.js";
import type { DatabaseTarget } from "./db/adapter.js";
import { connect, targetFromConfig } from "./db/connect.js";
import type { Logger } from "./logger.js";
import { createAppPubSub } from "./pubsub.js";
import { ensureSearchLanguage } from "./search/language.js";

/**
 * The long-lived parts of a server process, built from the configuration: database, pub/sub, model
 * provider and runs. `close` winds them down in order (runs first, so replies are saved).
 */
export async function createRuntime(
  config: Config,
  logger: Logger,
  overrides: { target?: DatabaseTarget; provider?: ModelProvider } = {},
) {
  const target = overrides.target ?? targetFromConfig(config.database);
  const db = await connect(target, { migrate: config.migrateOnStart });
  try {
    // Like a migration: rebuilt at start when migrating, else a mismatch stops the server with the fix.
    const search = await ensureSearchLanguage(db.prisma, config.search.language, {
      rebuild: config.migrateOnStart,
    });
    if (search.rebuilt) logger.warn(search, "rebuilt the search columns for SEARCH_LANGUAGE");
  } catch (error) {
    await db.close();
    throw error;
  }
  const recovered = await failAbandonedReplies(db.prisma);
  if (recovered > 0) logger.warn({ replies: recovered }, "marked replies interrupted by a crash as FAILED");
  const pubsub = createAppPubSub();
  const provider = overrides.provider ?? selectProvider(config.openai);
  const runs = new RunManager({ prisma: db.prisma, pubsub, provider, logger, settings: config.runs });
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
    /** Cancels and saves whatever still runs, then closes the database. */
    async close() {
      await runs.shutdown(0);
      await db.close();
    },
  };
}

/** The running process's parts, as the HTTP app receives them. */
export type Runtime = Awaited<ReturnType<typeof createRuntime>>;
