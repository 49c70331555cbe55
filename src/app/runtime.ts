import { DemoProvider } from "../agent/model/demo.js";
import type { ModelProvider } from "../agent/model/provider.js";
import { selectProvider } from "../agent/model/select-provider.js";
import { ApprovalKeeper } from "../agent/runs/approvals.js";
import { LeaseKeeper } from "../agent/runs/leases.js";
import type { RunNetwork } from "../agent/runs/network.js";
import { combineObservers } from "../agent/runs/observer.js";
import { resumeQueues } from "../agent/runs/queue.js";
import { RunManager } from "../agent/runs/run-manager.js";
import { TitleWriter } from "../agent/runs/titles.js";
import { LocalViewerEvents } from "../agent/runs/viewer-events.js";
import { loadMcpConfig, McpConfigError, type McpServerConfig } from "../agent/tools/mcp/config.js";
import type { McpHub, McpServerEntry } from "../agent/tools/mcp/hub.js";
import { fetchWithUserHeader, userFromMeta } from "../agent/tools/mcp/identity.js";
import { noToolServers } from "../agent/tools/mcp/no-servers.js";
import { SecretBox } from "../agent/tools/mcp/sealed.js";
import type { Toolbox } from "../agent/tools/tools.js";
import { createAuthenticator } from "../auth/tokens.js";
import type { Config } from "../core/config.js";
import { failAbandonedReplies } from "../db/abandoned-replies.js";
import type { DatabaseTarget } from "../db/adapter.js";
import { BlobStore } from "../db/blobs.js";
import { type Db, pingDatabase } from "../db/client.js";
import { type Connection, connect, targetFromConfig } from "../db/connect.js";
import { ensureSearchLanguage } from "../db/search/language.js";
import { AttachmentUrls } from "../http/attachment-urls.js";
import { PersistedOperations } from "../http/persisted-operations.js";
import { StartLane } from "../http/start-lane.js";
import { Gate } from "../limits/gate.js";
import { RateLimiter } from "../limits/rate-limiter.js";
import { type LimitStore, MemoryLimitStore } from "../limits/store.js";
import { OpenStreams } from "../limits/streams.js";
import type { Logger } from "../observability/logger.js";
import { createMetrics } from "../observability/metrics.js";
import { Readiness } from "../observability/readiness.js";
import type { Tracing } from "../observability/tracing.js";
import { ExportLinks } from "../resolvers/exchange/export.js";

/** The name our own agent knows the built-in MCP server by (its tools are `chat__…`). */
export const BUILTIN_MCP_SERVER = "chat";

/** The agent's tools with the connections behind them, started before requests are served. */
type ToolServers = Toolbox & Pick<McpHub, "start" | "status" | "close">;

/**
 * The long-lived parts of a server process, built from the configuration: database, pub/sub, model
 * provider, MCP tool servers, runs (with Redis: the run network shared with the other instances, and the
 * leases of running replies), limits, metrics and readiness checks. `close` winds them down in order (runs
 * first, so replies are saved and their last events shared).
 */
export async function createRuntime(
  config: Config,
  logger: Logger,
  overrides: {
    target?: DatabaseTarget;
    /** The database, already being opened (see `openConfiguredDatabase`). */
    connection?: Promise<Connection>;
    provider?: ModelProvider;
    limitStore?: LimitStore;
  } = {},
) {
  // A bad `mcpServers` file stops the start like any bad setting, before anything else is opened.
  let toolServers: ReturnType<typeof configuredToolServers>;
  try {
    toolServers = configuredToolServers(config);
  } catch (error) {
    await overrides.connection?.then((c) => c.close()).catch(() => {});
    throw error;
  }
  const db = await (overrides.connection ??
    connect(overrides.target ?? targetFromConfig(config.database), { migrate: config.migrateOnStart }));
  const target = db.target;
  logger.info(
    {
      database: target.kind === "postgres" ? "postgresql" : `pglite (${target.dataDir ?? "in memory"})`,
      ms: db.timings.openMs,
    },
    "database open",
  );
  logger.info(
    config.migrateOnStart
      ? { applied: db.applied, ms: db.timings.migrateMs }
      : { skipped: "MIGRATE_ON_START=false" },
    "migrations",
  );
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
  const provider = overrides.provider ?? selectProvider(config.openai);
  logger.info({ model: provider.label }, "model provider");
  // Redis and OpenTelemetry are loaded only when configured: a server without them starts faster.
  const limitStore = overrides.limitStore ?? (await createLimitStore(config));
  const readiness = new Readiness((name, error) => logger.warn({ check: name, err: error }, "not ready"));
  const tracing: Tracing | null = config.tracing
    ? (await import("../observability/tracing.js")).startTracing(config.tracing, logger)
    : null;
  // The gauges read these at scrape time, once both exist.
  const metrics = createMetrics({ runningReplies: () => runs.size, openStreams: () => streams.size });
  const network = await createRunNetwork(config, db.prisma, logger, metrics.followerAttached);
  // Every change a user makes is told to all their tabs, on every instance when there are several.
  const viewerEvents = network?.viewerEvents ?? new LocalViewerEvents();
  // Where users' browsers reach this process (OAuth callbacks): PUBLIC_URL, else where it listens.
  let publicUrl = config.publicUrl ?? `http://localhost:${config.port}`;
  const oauthServers = toolServers.some((s) => s.transport === "http" && s.auth === "oauth");
  if (oauthServers && !config.tools.tokenKey) {
    await db.close();
    throw new McpConfigError(
      'MCP_CONFIG: a server with "auth": "oauth" needs TOOL_TOKEN_KEY (32 bytes, base64)',
    );
  }
  // The MCP SDK and the modules that use it are loaded only by a server that has tool servers.
  const entries = await mcpEntries(config, toolServers, logger, db.prisma);
  const mcp: ToolServers =
    entries.length === 0
      ? noToolServers
      : new (await import("../agent/tools/mcp/hub.js")).McpHub(entries, {
          oauth: config.tools.tokenKey
            ? {
                prisma: db.prisma,
                box: new SecretBox(Buffer.from(config.tools.tokenKey, "base64")),
                logger,
                publicUrl: () => publicUrl,
                fetch: fetchWithUserHeader(config.mcp.userHeader) as typeof fetch,
              }
            : undefined,
          logger,
          connectTimeoutMs: config.mcp.connectTimeoutMs,
          reconnect: config.mcp.reconnect,
          pingIntervalMs: config.mcp.pingIntervalMs,
        });
  // Each server gets one bounded attempt before requests are served; one that fails keeps retrying.
  const toolsStarted = performance.now();
  await mcp.start();
  logger.info({ mcpServers: mcp.status(), ms: Math.round(performance.now() - toolsStarted) }, "tool servers");
  // The offline demo model's canned text would make every title the same.
  const titles =
    config.titles.enabled && !(provider instanceof DemoProvider)
      ? new TitleWriter({
          prisma: db.prisma,
          provider,
          model: config.titles.model,
          maxLength: config.limits.titleLength,
          timeoutMs: config.openai.timeoutMs,
          logger,
          onTitle: (conversation) =>
            viewerEvents.publish(conversation.ownerId, {
              type: "ConversationUpdated",
              conversationId: conversation.id,
            }),
        })
      : null;
  const blobs = new BlobStore(db.prisma, config.attachments.store, config.attachments.directory);
  const runs = new RunManager({
    prisma: db.prisma,
    blobs,
    provider,
    toolbox: mcp,
    logger,
    settings: config.runs,
    observer: combineObservers(metrics.runs, tracing?.observer),
    network,
    onReplyEnded: titles ? (reply) => titles.afterReply(reply) : undefined,
    viewerEvents,
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
      onAbandoned: () =>
        void resumeQueues(db.prisma, runs, logger).catch((error: unknown) =>
          logger.warn({ err: error }, "could not move queued messages on"),
        ),
    });
  if (leases) {
    await leases.sweep();
    leases.start();
  } else {
    const recovered = await failAbandonedReplies(db.prisma);
    if (recovered > 0) logger.warn({ replies: recovered }, "marked replies interrupted by a crash as FAILED");
  }
  // Messages queued (`onBusy: ENQUEUE`) while an earlier process ran are answered, in order.
  const queues = await resumeQueues(db.prisma, runs, logger);
  if (queues > 0) logger.info({ queues }, "answering messages queued before the start");
  // Calls left waiting past the approval timeout are denied, and their replies go on, on whichever instance.
  const approvals = new ApprovalKeeper({
    prisma: db.prisma,
    runs,
    logger,
    timeoutMs: config.runs.tools.approvalTimeoutMs,
  });
  // One sweep finishes what an earlier configuration left waiting; the periodic one runs only where a
  // call can wait (a server asks for approval or for the user's authorization), else it is idle work.
  await approvals.sweep();
  if (oauthServers || toolServers.some((s) => (s.approval ?? "never") !== "never")) approvals.start();
  const streams = new OpenStreams(limitStore, config.streams, logger, metrics.limited);
  // While streams are open, new requests and graphql-ws operations start one per turn of the loop, after
  // the streams' events; so does the rest of a send once its messages are saved.
  const lane = new StartLane(() => streams.size > 0);
  // Half the pool for saving new exchanges: the other half stays free for running replies' writes.
  const sends = new Gate(Math.max(1, Math.floor(config.database.poolSize / 2)));
  const limits = new RateLimiter(limitStore, config.rateLimits, logger, metrics.limited);
  const persisted = config.persistedOperations.file
    ? await PersistedOperations.load(config.persistedOperations.file, config.persistedOperations.only)
    : null;

  const exportLinks = new ExportLinks(
    config.exchange.linkSecret,
    config.exchange.linkTtlSeconds,
    () => publicUrl,
  );

  readiness.add("database", () => pingDatabase(db.prisma));
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
  // Reported, never failing the probe: a broken tool server must not take the API out of rotation.
  if (Object.keys(mcp.status()).length > 0) readiness.detail("mcpServers", () => mcp.status());

  return {
    config,
    logger,
    db,
    prisma: db.prisma,
    blobs,
    attachmentUrls: new AttachmentUrls(
      config.attachments.urlSecret,
      config.attachments.urlTtlSeconds,
      () => publicUrl,
    ),
    provider,
    mcp,
    runs,
    titles,
    viewerEvents,
    limits,
    streams,
    sends,
    lane,
    metrics,
    readiness,
    persisted,
    tracing,
    authenticate: createAuthenticator(config.auth),
    exportLinks,
    /** Where users' browsers reach this process: PUBLIC_URL, else where it listens. */
    publicUrl: () => publicUrl,
    /** Where the process listens, once it does: the public URL unless PUBLIC_URL names another. */
    listeningAt(url: string) {
      if (!config.publicUrl) publicUrl = url;
    },
    /** Refuses new replies; lets running ones finish within the grace period, then cancels and saves them. */
    stopRuns: (graceMs = config.shutdownGraceMs) => runs.shutdown(graceMs),
    /** Cancels and saves whatever still runs, ends open streams, disconnects tool servers, closes the stores. */
    async close() {
      await approvals.stop();
      await runs.shutdown(0);
      await titles?.close();
      await leases?.stop();
      await network?.close();
      await streams.closeAll();
      await mcp.close();
      await limitStore.close();
      await tracing?.shutdown();
      await db.close();
    },
  };
}

async function createLimitStore(config: Config): Promise<LimitStore> {
  if (!config.redisUrl) return new MemoryLimitStore();
  const { RedisLimitStore } = await import("../limits/redis-store.js");
  return new RedisLimitStore(config.redisUrl, config.rateLimits.keyPrefix);
}

async function createRunNetwork(
  config: Config,
  prisma: Db,
  logger: Logger,
  onFollowerAttached: () => void,
): Promise<RunNetwork | undefined> {
  if (!config.redisUrl) return undefined;
  const { connectRunNetwork } = await import("../cluster/redis-network.js");
  return connectRunNetwork(
    { url: config.redisUrl, keyPrefix: config.redisKeyPrefix },
    {
      historyEvents: config.runs.eventBufferSize,
      leaseMs: config.runLeaseMs,
      flushIntervalMs: config.runs.flush.intervalMs,
      onFollowerAttached,
    },
    prisma,
    logger,
  );
}

/** The running process's parts, as the HTTP app receives them. */
export type Runtime = Awaited<ReturnType<typeof createRuntime>>;

/** The servers of the `mcpServers` file, checked against the built-in server's name. */
function configuredToolServers(config: Config): McpServerConfig[] {
  const configured = config.mcp.configPath ? loadMcpConfig(config.mcp.configPath) : [];
  if (config.mcp.builtinTools && configured.some((s) => s.name === BUILTIN_MCP_SERVER))
    throw new McpConfigError(
      `MCP_CONFIG: the server name "${BUILTIN_MCP_SERVER}" is taken by the built-in server (MCP_BUILTIN_TOOLS)`,
    );
  return configured;
}

/** How to reach each tool server, plus the built-in one when our agent is to use it. */
async function mcpEntries(
  config: Config,
  configured: McpServerConfig[],
  logger: Logger,
  prisma: Db,
): Promise<McpServerEntry[]> {
  if (configured.length === 0 && !config.mcp.builtinTools) return [];
  const { transportFor } = await import("../agent/tools/mcp/transports.js");
  const entries = configured.map((s) => ({
    name: s.name,
    transport: transportFor(s, config.mcp.userHeader, logger),
    approval: s.approval,
    ...(s.transport === "http" && s.auth === "oauth" ? { oauthUrl: s.url } : {}),
  }));
  if (!config.mcp.builtinTools) return entries;
  const [{ inProcessTransport }, { createChatMcpServer }] = await Promise.all([
    import("../agent/tools/mcp/in-process.js"),
    import("../mcp-server/server.js"),
  ]);
  // In process, only our agent can reach the server, so the user named in `_meta` is trusted.
  const builtin = inProcessTransport(() => createChatMcpServer(prisma, (extra) => userFromMeta(extra._meta)));
  return [...entries, { name: BUILTIN_MCP_SERVER, transport: builtin }];
}
