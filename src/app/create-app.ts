import type { IncomingMessage } from "node:http";
import { useDisableIntrospection } from "@graphql-yoga/plugin-disable-introspection";
import { usePrometheus } from "@graphql-yoga/plugin-prometheus";
import { type CORSOptions, createYoga, type Plugin } from "graphql-yoga";
import { OAUTH_CALLBACK_PATH } from "../agent/tools/mcp/config.js";
import { ClientError } from "../core/errors.js";
import { useAttachmentDownloads } from "../http/attachment-downloads.js";
import { useStrictBodies } from "../http/body.js";
import { useCompiledSubscriptions } from "../http/compiled-subscriptions.js";
import { useCsrfPrevention } from "../http/csrf.js";
import { renderLocalGraphiQL, useLocalGraphiQLAssets } from "../http/graphiql.js";
import { useGuardedGraphQLSSE } from "../http/graphql-sse.js";
import { createErrorMasking } from "../http/mask-error.js";
import { multipartBodyLimit, useMultipartUploads } from "../http/multipart.js";
import { useMultipartSubscriptions } from "../http/multipart-subscriptions.js";
import { useOperationLimits } from "../http/operation-limits.js";
import { usePersistedOperations } from "../http/persisted-operations.js";
import { requestInfo, useRequestInfo } from "../http/request-info.js";
import { errorResponse } from "../http/responses.js";
import { useRestApi } from "../http/rest/api.js";
import { useStorableText } from "../http/storable-text.js";
import { useStreamedSubscriptions } from "../http/streamed-subscriptions.js";
import { useTracing } from "../http/tracing.js";
import { useMcpEndpoint } from "../mcp-server/http.js";
import type { Readiness } from "../observability/readiness.js";
import type { Context } from "../resolvers/context.js";
import { downloadExport, EXPORT_PATH } from "../resolvers/exchange/export.js";
import { oauthCallback } from "../resolvers/oauth-callback.js";
import { readShare, SHARE_PATH } from "../resolvers/sharing.js";
import { schema } from "../schema/index.js";
import { restOperations } from "./rest-operations.js";
import type { Runtime } from "./runtime.js";

/** Where GraphQL is served: HTTP (yoga) and WebSocket upgrades (graphql-ws). */
export const GRAPHQL_ENDPOINT = "/graphql";
const STREAM_ENDPOINT = "/graphql/stream";
const MCP_ENDPOINT = "/mcp";

/**
 * Builds the GraphQL-over-HTTP app: `/graphql` (queries, mutations, subscriptions over yoga's SSE or Apollo's
 * multipart protocol, GraphiQL for browsers with its files under `/graphiql/`), `/graphql/stream` (the
 * graphql-sse protocol), `/mcp` (the built-in MCP server), `/healthz`, `/readyz` and `/metrics`. Both
 * GraphQL endpoints are guarded alike: CSRF prevention, strict bodies within the size limit, persisted
 * operations, document limits, authentication and rate limits. It does not listen; `src/server.ts` does,
 * and tests serve it on port 0.
 */
export function createApp(runtime: Runtime) {
  const { config, logger } = runtime;
  const { maskError, yogaLogger } = createErrorMasking(logger);
  const maxBodyBytes = config.operations.maxBodyBytes;
  const uploads = {
    // The larger of an attachment's and an import's limits: each upload is then held to its own.
    maxFileBytes: Math.max(config.attachments.maxBytes, config.exchange.importMaxBytes),
    maxFiles: Math.max(1, config.attachments.perMessage),
    maxFieldBytes: maxBodyBytes,
  };
  return createYoga<{ req?: IncomingMessage }, Context>({
    schema,
    graphqlEndpoint: GRAPHQL_ENDPOINT,
    healthCheckEndpoint: "/healthz",
    landingPage: false,
    graphiql: config.graphiql
      ? {
          title: "Chat backend",
          defaultQuery: GRAPHIQL_QUERY,
          // GraphiQL's subscriptions are GETs with no content type, which CSRF prevention refuses
          // without one of its headers.
          additionalHeaders: { "x-graphql-yoga-csrf": "graphiql" },
        }
      : false,
    renderGraphiQL: renderLocalGraphiQL,
    logging: yogaLogger,
    cors: corsOptions(config.http.corsOrigins),
    // The outer bound, which uploads need; JSON bodies are held to maxBodyBytes by useStrictBodies.
    maxRequestBodySize: Math.max(maxBodyBytes, multipartBodyLimit(uploads)),
    maskedErrors: { maskError },
    context: ({ request }) => createContext(runtime, request),
    plugins: [
      ...(runtime.tracing ? [useTracing(runtime.tracing.tracer, logger)] : []),
      useRequestInfo(logger, config.http.trustProxy),
      useCsrfPrevention([GRAPHQL_ENDPOINT, STREAM_ENDPOINT, MCP_ENDPOINT]),
      useStrictBodies(maxBodyBytes),
      useMultipartUploads(uploads),
      ...(runtime.persisted ? [usePersistedOperations(runtime.persisted)] : []),
      ...useOperationLimits(config.operations, config.introspection),
      useStorableText(),
      ...(config.introspection ? [] : [useDisableIntrospection()]),
      ...(config.graphiql ? [useLocalGraphiQLAssets()] : []),
      useGuardedGraphQLSSE({
        endpoint: STREAM_ENDPOINT,
        maxBodyBytes,
        persisted: runtime.persisted,
        maskError,
      }),
      useStreamedSubscriptions(GRAPHQL_ENDPOINT),
      useMultipartSubscriptions({ heartbeatMs: config.multipartHeartbeatMs }),
      useUnbufferedEventStreams(),
      ...(config.metrics
        ? [
            usePrometheus({
              registry: runtime.metrics.registry,
              endpoint: "/metrics",
              // Names and URLs come from clients: as labels they would grow the metrics without bound.
              labels: { operationName: false, url: false },
              // Subscriptions' errors are counted, and subscriptions timed, by the compiled subscriptions
              // (below), which answer without the per-event hook counting would add and the wrapper
              // around every stream timing would add.
              metrics: {
                graphql_envelop_error_result: ["parse", "validate", "context", "execute"],
                graphql_envelop_request: ["execute"],
                graphql_envelop_request_duration: ["execute"],
                graphql_envelop_request_time_summary: ["execute"],
                graphql_envelop_phase_subscribe: false,
                // The schema deprecates nothing, and counting would walk every document with type info on
                // every request, cached parses included: 2 % of the CPU of a busy server.
                graphql_envelop_deprecated_field: false,
              },
            }),
          ]
        : []),
      // After the metrics plugin, whose timings it keeps; the hooks after it do not run for subscriptions.
      useCompiledSubscriptions({
        mask: maskError,
        count: config.metrics ? (errors) => runtime.metrics.subscriptionErrors(errors) : undefined,
        ended: config.metrics ? (seconds) => runtime.metrics.subscriptionEnded(seconds) : undefined,
      }),
      ...(config.mcp.http
        ? [
            useMcpEndpoint({
              endpoint: MCP_ENDPOINT,
              prisma: runtime.prisma,
              authenticate: runtime.authenticate,
              limits: runtime.limits,
              maxBodyBytes,
              logger,
            }),
          ]
        : []),
      useRestApi({ operations: restOperations, maxBodyBytes, maskError }),
      useReadinessEndpoint("/readyz", runtime.readiness),
      useAttachmentDownloads({ prisma: runtime.prisma, blobs: runtime.blobs, urls: runtime.attachmentUrls }),
      useOAuthCallback(runtime),
      useExportDownloads(runtime),
      useShareLinks(runtime),
    ],
  });
}

/** The app type, for tests and the server. */
export type App = ReturnType<typeof createApp>;

/**
 * The context of one GraphQL operation: the caller (authenticated now, so subscriptions are authorized
 * when they start), counted against the request rate limit, with the request's logger.
 */
async function createContext(runtime: Runtime, request: Request): Promise<Context> {
  const info = requestInfo(request, runtime.logger);
  let viewer: Context["viewer"];
  try {
    viewer = await runtime.authenticate(request);
  } catch (error) {
    // Failed authentication counts against the client address, so guessing tokens is rate limited too.
    await runtime.limits.request(null, info.clientIp);
    throw error;
  }
  await runtime.limits.request(viewer?.id ?? null, info.clientIp);
  return {
    prisma: runtime.prisma,
    config: runtime.config,
    runs: runtime.runs,
    events: runtime.viewerEvents,
    limits: runtime.limits,
    streams: runtime.streams,
    sends: runtime.sends,
    lane: runtime.lane,
    exportLinks: runtime.exportLinks,
    publicUrl: runtime.publicUrl,
    blobs: runtime.blobs,
    attachmentUrls: runtime.attachmentUrls,
    logger: runtime.logger,
    logFields: viewer ? { requestId: info.id, userId: viewer.id } : { requestId: info.id },
    request,
    viewer,
  };
}

/** CORS from configuration: `*` any origin (without credentials), a list those origins, none: no CORS. */
function corsOptions(origins: string[]): CORSOptions | false {
  if (origins.length === 0) return false;
  const exposedHeaders = ["retry-after", "x-request-id"];
  if (origins.includes("*")) return { origin: "*", exposedHeaders };
  return { origin: origins, credentials: true, exposedHeaders };
}

/**
 * Tells proxies (nginx and the like) not to buffer or transform event streams, which would hold tokens
 * back; and closes the connection after a 413, whose request body was left unread.
 */
function useUnbufferedEventStreams(): Plugin {
  return {
    onResponse({ response }) {
      if (response.status === 413) response.headers.set("connection", "close");
      if (response.headers.get("content-type")?.startsWith("text/event-stream")) {
        response.headers.set("x-accel-buffering", "no");
        response.headers.set("cache-control", "no-cache, no-transform");
      }
    },
  };
}

/** `GET /oauth/callback`: tool server authorizations come back here (see resolvers/oauth-callback.ts). */
function useOAuthCallback(runtime: Runtime): Plugin {
  return {
    onRequest({ request, url, endResponse }) {
      if (url.pathname !== OAUTH_CALLBACK_PATH || request.method !== "GET") return;
      return oauthCallback(runtime, url).then(endResponse);
    },
  };
}

/** `GET /export?token=`: the download a signed `exportConversations` link grants. */
function useExportDownloads(runtime: Runtime): Plugin {
  const deps = {
    prisma: runtime.prisma,
    blobs: runtime.blobs,
    links: runtime.exportLinks,
    logger: runtime.logger,
  };
  return {
    onRequest({ url, request, endResponse }) {
      if (url.pathname !== EXPORT_PATH || request.method !== "GET") return;
      endResponse(downloadExport(deps, url));
    },
  };
}

/**
 * `GET /share/<token>`: a share link's snapshot as JSON (what `sharedConversation` answers), for anyone,
 * rate limited per client address; 404 when unknown or revoked.
 */
function useShareLinks(runtime: Runtime): Plugin {
  return {
    onRequest({ url, request, endResponse }) {
      if (!url.pathname.startsWith(SHARE_PATH) || request.method !== "GET") return;
      const token = url.pathname.slice(SHARE_PATH.length);
      return readShare(runtime, request, token).then(
        (share) =>
          endResponse(
            share
              ? Response.json(share, { headers: { "cache-control": "no-store" } })
              : Response.json({ error: "This share link is unknown or was revoked." }, { status: 404 }),
          ),
        (error: unknown) => {
          if (error instanceof ClientError) return endResponse(errorResponse(error));
          runtime.logger.error({ err: error }, "could not read a share link");
          endResponse(Response.json({ error: "Internal error" }, { status: 500 }));
        },
      );
    },
  };
}

/**
 * `/readyz`: 200 when every registered check passes, else 503; the body names each check's state and
 * carries the reported details (each MCP tool server's state).
 */
function useReadinessEndpoint(endpoint: string, readiness: Readiness): Plugin {
  return {
    onRequest({ url, endResponse }) {
      if (url.pathname !== endpoint) return;
      return readiness
        .run()
        .then((report) =>
          endResponse(
            Response.json(
              { status: report.ready ? "ready" : "unavailable", checks: report.checks, ...report.details },
              { status: report.ready ? 200 : 503, headers: { "cache-control": "no-store" } },
            ),
          ),
        );
    },
  };
}

const GRAPHIQL_QUERY = `# Development auth is on unless a JWT secret or JWKS URL is configured:
# requests without a token then act as "dev-user".
subscription Chat {
  sendMessage(input: { content: "Hello! What can you do?" }) {
    __typename
    ... on MessageCreated { seq message { id role content conversation { id title } } }
    ... on TextDelta { seq delta }
    ... on ToolCallStarted { seq toolCall { server name arguments } }
    ... on ToolCallCompleted { seq toolCall { name result isError } }
    ... on MessageCompleted { seq message { status content error usage { totalTokens } } }
  }
}

query Conversations {
  viewer { id conversationCount }
  conversations(first: 20) {
    edges { node { id title lastActivityAt messageCount lastMessage { role content status } } }
    pageInfo { hasNextPage endCursor }
  }
}
`;
