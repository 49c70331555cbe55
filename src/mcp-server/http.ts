import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { Plugin } from "graphql-yoga";
import type { Authenticate } from "../auth.js";
import type { Db } from "../db/client.js";
import type { Logger } from "../logger.js";
import { createChatMcpServer } from "./server.js";

/**
 * Serves the built-in MCP server over Streamable HTTP at `endpoint`, with the GraphQL API's own JWT auth:
 * each request acts for its token's user. Stateless (a fresh server per POST, JSON responses), so any
 * instance behind a load balancer can answer any request and nothing is held between requests.
 */
export function useMcpEndpoint(options: {
  endpoint: string;
  prisma: Db;
  authenticate: Authenticate;
  logger: Logger;
}): Plugin {
  return {
    async onRequest({ request, url, endResponse }) {
      if (url.pathname !== options.endpoint) return;
      endResponse(await handleMcpRequest(request, options));
    },
  };
}

async function handleMcpRequest(
  request: Request,
  options: { prisma: Db; authenticate: Authenticate; logger: Logger },
): Promise<Response> {
  if (request.method !== "POST")
    return rpcError(405, "Method not allowed: this stateless endpoint takes JSON-RPC messages by POST", {
      allow: "POST",
    });
  let userId: string;
  try {
    const viewer = await options.authenticate(request);
    if (!viewer) return rpcError(401, "Authentication required", { "www-authenticate": "Bearer" });
    userId = viewer.id;
  } catch (error) {
    const message = error instanceof Error ? error.message : "Invalid token";
    return rpcError(401, message, { "www-authenticate": 'Bearer error="invalid_token"' });
  }
  const server = createChatMcpServer(options.prisma, (extra) => {
    const id = extra.authInfo?.extra?.userId;
    return typeof id === "string" ? id : undefined;
  });
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
  });
  try {
    await server.connect(transport);
    return await transport.handleRequest(request, {
      authInfo: { token: "", clientId: userId, scopes: [], extra: { userId } },
    });
  } catch (error) {
    options.logger.error({ err: error }, "MCP request failed");
    return rpcError(500, "Internal error");
  } finally {
    // JSON responses are complete once handleRequest resolves: nothing outlives the request.
    await server.close().catch(() => {});
  }
}

function rpcError(status: number, message: string, headers: Record<string, string> = {}): Response {
  return Response.json(
    { jsonrpc: "2.0", error: { code: -32000, message }, id: null },
    { status, headers: { ...headers } },
  );
}
