import type { Plugin } from "graphql-yoga";
import type { Authenticate } from "../auth/tokens.js";
import { RateLimitedError } from "../core/errors.js";
import type { Db } from "../db/client.js";
import { requestInfo } from "../http/request-info.js";
import type { RateLimiter } from "../limits/rate-limiter.js";
import type { Logger } from "../observability/logger.js";

/** What the endpoint needs from the runtime. */
export interface McpEndpointOptions {
  endpoint: string;
  prisma: Db;
  authenticate: Authenticate;
  /** The API's request rate limits: MCP requests count like GraphQL operations. */
  limits: RateLimiter;
  maxBodyBytes: number;
  logger: Logger;
}

/**
 * Serves the built-in MCP server over Streamable HTTP at `endpoint`, with the GraphQL API's own JWT auth
 * and request rate limits: each request acts for its token's user. Stateless (a fresh server per POST,
 * JSON responses), so any instance behind a load balancer can answer any request and nothing is held
 * between requests.
 */
export function useMcpEndpoint(options: McpEndpointOptions): Plugin {
  return {
    async onRequest({ request, url, endResponse }) {
      if (url.pathname !== options.endpoint) return;
      endResponse(await handleMcpRequest(request, options));
    },
  };
}

/** The MCP SDK and the server built on it, loaded by the endpoint's first request (about 15 MB once loaded). */
let serverModules:
  | Promise<
      [
        typeof import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"),
        typeof import("./server.js"),
      ]
    >
  | undefined;

async function handleMcpRequest(request: Request, options: McpEndpointOptions): Promise<Response> {
  if (request.method !== "POST")
    return rpcError(405, "Method not allowed: this stateless endpoint takes JSON-RPC messages by POST", {
      allow: "POST",
    });
  const { clientIp } = requestInfo(request, options.logger);
  let userId: string;
  try {
    const viewer = await options.authenticate(request).catch(async (error: unknown) => {
      // Failed authentication counts against the client address, as on /graphql.
      await options.limits.request(null, clientIp);
      throw error;
    });
    if (!viewer) return rpcError(401, "Authentication required", { "www-authenticate": "Bearer" });
    userId = viewer.id;
    await options.limits.request(userId, clientIp);
  } catch (error) {
    if (error instanceof RateLimitedError)
      return rpcError(429, error.message, { "retry-after": String(error.retryAfter) });
    const message = error instanceof Error ? error.message : "Invalid token";
    return rpcError(401, message, { "www-authenticate": 'Bearer error="invalid_token"' });
  }
  serverModules ??= Promise.all([
    import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"),
    import("./server.js"),
  ]);
  const [{ WebStandardStreamableHTTPServerTransport }, { createChatMcpServer }] = await serverModules;
  const server = createChatMcpServer(options.prisma, (extra) => {
    const id = extra.authInfo?.extra?.userId;
    return typeof id === "string" ? id : undefined;
  });
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
    maxRequestBodySize: options.maxBodyBytes,
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
