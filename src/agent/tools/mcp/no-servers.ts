import type { Toolbox } from "../tools.js";
import { addressModelName } from "./names.js";

/**
 * The toolbox of a server with no tool server configured: what the MCP hub is without servers, without
 * loading the MCP SDK (about 15 MB of a process's memory once loaded), which only the hub's modules import.
 */
export const noToolServers = {
  list: () => [],
  resolve: () => undefined,
  call: async (name: string) => ({ content: `Unknown tool "${name}"`, isError: true }),
  // Stored calls of servers configured before are still replayed under their names.
  modelName: addressModelName,
  requiresApproval: () => false,
  servers: async () => [],
  authorizationNeeded: async () => false,
  authorize: async (server: string) => noOAuthServer(server),
  completeAuthorization: async (server: string) => noOAuthServer(server),
  disconnect: async (server: string) => noOAuthServer(server),
  serverKind: () => null,
  prepare: async () => {},
  start: async () => {},
  status: () => ({}),
  close: async () => {},
} satisfies Toolbox & Record<"start" | "status" | "close", unknown>;

function noOAuthServer(name: string): never {
  throw new Error(`no OAuth tool server named "${name}"`);
}
