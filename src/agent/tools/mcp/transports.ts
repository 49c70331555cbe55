import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Logger } from "../../../observability/logger.js";
import type { McpServerConfig } from "./config.js";
import type { TransportFactory } from "./connection.js";
import { fetchWithUserHeader } from "./identity.js";

const STDERR_LINES_KEPT = 5;

/**
 * How to reach a configured server. Stdio servers are spawned per connection (their stderr goes to the
 * debug log, and its last lines explain a failure); Streamable HTTP servers get their configured headers
 * plus `userHeader`, set per request to the user the call acts for.
 */
export function transportFor(server: McpServerConfig, userHeader: string, logger: Logger): TransportFactory {
  if (server.transport === "http") {
    return {
      kind: "http",
      open: () =>
        new StreamableHTTPClientTransport(new URL(server.url), {
          requestInit: { headers: server.headers },
          fetch: fetchWithUserHeader(userHeader),
        }),
    };
  }
  let lastLines: string[] = [];
  return {
    kind: "stdio",
    open: () => {
      const transport = new StdioClientTransport({
        command: server.command,
        args: server.args,
        env: server.env,
        cwd: server.cwd,
        stderr: "pipe",
      });
      const lines: string[] = [];
      lastLines = lines;
      let partial = "";
      transport.stderr?.on("data", (chunk: Buffer) => {
        const text = partial + chunk.toString("utf8");
        const complete = text.split("\n");
        partial = complete.pop() ?? "";
        for (const line of complete.filter((l) => l.trim() !== "")) {
          logger.debug({ mcpServer: server.name, stderr: line }, "MCP server stderr");
          lines.push(line);
          if (lines.length > STDERR_LINES_KEPT) lines.shift();
        }
      });
      return transport;
    },
    diagnostics: () => (lastLines.length > 0 ? lastLines.join(" | ") : undefined),
  };
}
