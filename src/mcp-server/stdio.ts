import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { pino } from "pino";
import { createAuthenticator } from "../auth/tokens.js";
import { ConfigError, loadConfig } from "../core/config.js";
import { connect, targetFromConfig } from "../db/connect.js";
import { ensureSearchLanguage } from "../db/search/language.js";
import { createLogger } from "../observability/logger.js";
import { createChatMcpServer } from "./server.js";

// The built-in MCP server over stdio, for MCP clients that spawn their servers (Claude Desktop, Cursor,
// VS Code, MCP Inspector): `npm run --silent mcp:stdio` or `npx tsx src/mcp-server/stdio.ts`. It acts
// for the user of the JWT in MCP_AUTH_TOKEN, verified like the GraphQL API's tokens (the same AUTH_*
// settings), and reads the database the server uses (DATABASE_URL or DATA_DIR). stdout carries the
// protocol: every log line goes to stderr.

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
  const logger = createLogger({ production: config.production, destination: pino.destination(2) });
  const token = process.env.MCP_AUTH_TOKEN?.trim();
  const authenticate = createAuthenticator(config.auth);
  let userId: string;
  try {
    const request = new Request("http://stdio.invalid/", {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    const viewer = await authenticate(request);
    if (!viewer) throw new Error("MCP_AUTH_TOKEN is not set: give the JWT of the user the tools act for");
    userId = viewer.id;
  } catch (error) {
    logger.error(`MCP_AUTH_TOKEN refused: ${(error as Error).message}`);
    process.exit(77); // EX_NOPERM
  }

  const db = await connect(targetFromConfig(config.database), { migrate: config.migrateOnStart });
  await ensureSearchLanguage(db.prisma, config.search.language, { rebuild: config.migrateOnStart });
  const server = createChatMcpServer(db.prisma, () => userId);
  const transport = new StdioServerTransport();
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await server.close().catch(() => {});
    await db.close();
    process.exit(0);
  };
  // The client ends the session by closing our stdin (or by a signal).
  process.stdin.on("end", () => void shutdown());
  process.on("SIGTERM", () => void shutdown());
  process.on("SIGINT", () => void shutdown());
  await server.connect(transport);
  logger.info({ user: userId }, "built-in MCP server on stdio");
}

await main();
