import { setFlagsFromString } from "node:v8";
import { openConfiguredDatabase } from "./app/database.js";
import { ConfigError, loadConfig } from "./core/config.js";
import { createLogger } from "./observability/logger.js";

// Listens and shuts down; everything else is built in src/app/create-app.ts and src/app/runtime.ts.

/** How long finished streams get at shutdown to deliver their last event before connections are cut. */
const STREAM_DRAIN_MS = 2_000;
/** Pending connections the kernel queues for the server (capped by net.core.somaxconn). */
const LISTEN_BACKLOG = 4_096;
/** CPU time spent so far (user and system): start-up's cost without the waits, steadier than wall time. */
function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return Math.round((user + system) / 1000);
}

async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger({ production: config.production });
  // On PostgreSQL the only WebAssembly is Prisma's: the query compiler, whose plans are cached after a
  // query's first run, and the schema engine while migrations apply. V8 otherwise recompiles its largest
  // functions with its optimizing compiler during start-up, on several threads at once, for work already
  // done: seconds of CPU and about 70 MB of compiler memory that the allocator keeps for good. Its baseline
  // code alone is enough there. PGlite, PostgreSQL itself in WebAssembly, keeps the optimizing compiler.
  if (config.database.url) setFlagsFromString("--liftoff-only");
  // The database starts first; the rest of the server loads meanwhile (a chunk of its own in dist/).
  const connection = openConfiguredDatabase(config);
  connection.catch(() => {}); // awaited by createRuntime, which reports a failure
  const [{ createRuntime }, { createHttpServer }] = await Promise.all([
    import("./app/runtime.js"),
    import("./app/http-server.js"),
  ]);
  let runtime: Awaited<ReturnType<typeof createRuntime>>;
  try {
    runtime = await createRuntime(config, logger, { connection });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message); // a bad MCP_CONFIG file
      process.exit(78);
    }
    throw error;
  }
  if (config.auth.devMode) {
    logger.warn(
      "DEVELOPMENT AUTH IS ON: requests without a token act as 'dev-user' and unsigned tokens are trusted. " +
        "Set AUTH_JWT_SECRET or AUTH_JWKS_URL (and NODE_ENV=production) before exposing this server.",
    );
  }

  const { app, server, websockets } = createHttpServer(runtime);
  // Longer than the idle timeout of the proxies usually in front (60 s), so that they, not this server,
  // close idle keep-alive connections: a request sent on a connection being closed fails with a reset.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // A deep accept queue: under a burst of new connections (thousands of clients reconnecting at once) the
  // default 511 overflows while the event loop is busy, and the kernel drops or resets connections.
  server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, () => {
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : config.port;
    const host = config.host === "0.0.0.0" ? "localhost" : config.host;
    // performance.now() counts from the process's start: the whole start-up, module loading included.
    logger.info(
      { startupMs: Math.round(performance.now()), cpuMs: cpuMs() },
      `GraphQL API on http://${host}:${port}/graphql${config.graphiql ? " (GraphiQL in a browser)" : ""}`,
    );
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const forced = setTimeout(() => {
      logger.error("shutdown took too long; exiting");
      process.exit(1);
    }, config.shutdownGraceMs + 5_000);
    forced.unref();
    // Stop taking requests, let running replies finish (or cancel and save them), let their streams deliver
    // the final event, then close whatever is still open.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await runtime.stopRuns();
    await Promise.race([closed, delay(STREAM_DRAIN_MS)]);
    // Streams still open (watching replies of other instances, or idle) end with a clean `complete`, which
    // gets a moment to reach the client before the connections are cut.
    await runtime.streams.closeAll();
    // WebSocket clients get close code 1001 (going away) and reconnect elsewhere.
    await websockets.dispose();
    server.closeIdleConnections();
    await Promise.race([closed, delay(500)]);
    await app.dispose();
    server.closeAllConnections();
    await runtime.close();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

await main();
