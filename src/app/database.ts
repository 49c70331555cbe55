import type { Config } from "../core/config.js";
import { type Connection, connect, targetFromConfig } from "../db/connect.js";

/**
 * Starts opening (and migrating) the configured database. The process entry calls it before it loads the
 * rest of the server, so PGlite's start (its WASM compiled off the main thread, its files read) and the
 * migrations check overlap with loading and evaluating the modules.
 */
export function openConfiguredDatabase(config: Config): Promise<Connection> {
  return connect(targetFromConfig(config.database), { migrate: config.migrateOnStart });
}
