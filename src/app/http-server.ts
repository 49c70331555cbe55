import { createServer } from "node:http";
import { CompactHeaderResponse } from "../http/compact-response.js";
import { serveGraphQLWs } from "../http/graphql-ws.js";
import { createErrorMasking } from "../http/mask-error.js";
import { createApp, GRAPHQL_ENDPOINT } from "./create-app.js";
import type { Runtime } from "./runtime.js";

/**
 * The node HTTP server of a runtime: the yoga app for every HTTP request, and the graphql-ws endpoint on
 * `/graphql` for WebSocket upgrades. It does not listen; `src/server.ts` does, and tests on port 0.
 */
export function createHttpServer(runtime: Runtime) {
  const app = createApp(runtime);
  const { lane } = runtime;
  const server = createServer({ ServerResponse: CompactHeaderResponse }, lane.listener(app));
  const websockets = serveGraphQLWs({
    server,
    path: GRAPHQL_ENDPOINT,
    yoga: app,
    lane,
    authenticate: runtime.authenticate,
    countFailedAuthentication: (clientIp) => runtime.limits.request(null, clientIp),
    persisted: runtime.persisted,
    maskError: createErrorMasking(runtime.logger).maskError,
    logger: runtime.logger,
    trustProxy: runtime.config.http.trustProxy,
    maxPayload: runtime.config.operations.maxBodyBytes,
    allowedOrigins: runtime.config.http.corsOrigins,
  });
  return { app, server, websockets };
}
