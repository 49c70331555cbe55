import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { TransportFactory } from "./connection.js";

/**
 * A server running in this process, reached through the SDK's linked in-memory transports: a fresh server
 * per connection, spoken to exactly like a remote one (same client, same tool calls, same `_meta`).
 */
export function inProcessTransport(createServer: () => McpServer): TransportFactory {
  return {
    kind: "in-process",
    open: () => {
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      void createServer().connect(serverSide);
      return clientSide;
    },
  };
}
