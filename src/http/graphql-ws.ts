import type { IncomingMessage, Server } from "node:http";
import { type ExecutionArgs, type ExecutionResult, type GraphQLError, getOperationAST } from "graphql";
import type { Context as WsContext } from "graphql-ws";
import { type Extra, useServer } from "graphql-ws/use/ws";
import type { YogaServerInstance } from "graphql-yoga";
import { WebSocketServer } from "ws";
import type { Authenticate } from "../auth/tokens.js";
import type { TrustProxy } from "../core/config.js";
import { ClientError } from "../core/errors.js";
import type { Logger } from "../observability/logger.js";
import { compileClientAddress } from "./client-address.js";
import { withoutHttpExtensions } from "./graphql-sse.js";
import type { PersistedOperations } from "./persisted-operations.js";
import { trackRequest } from "./request-info.js";
import type { StartLane } from "./start-lane.js";

/** What the graphql-ws endpoint needs to apply the same rules as `/graphql`. */
export interface GraphQLWsOptions {
  /** The node server the app listens on: upgrade requests to `path` become graphql-ws connections. */
  server: Server;
  path: string;
  // biome-ignore lint/suspicious/noExplicitAny: any yoga app; only getEnveloped is used, whose context is ours
  yoga: YogaServerInstance<any, any>;
  /** Where operations wait for their turn to start, as HTTP requests do. */
  lane: StartLane;
  authenticate: Authenticate;
  /** Counts a failed authentication against the client address, as `/graphql` does (may throw RATE_LIMITED). */
  countFailedAuthentication: (clientIp: string) => Promise<void>;
  persisted: PersistedOperations | null;
  /** The same masking as yoga's (client errors kept, everything else `INTERNAL`). */
  maskError: (error: unknown) => Error;
  logger: Logger;
  trustProxy: TrustProxy;
  /** The largest message a client may send, as the largest HTTP body (larger: close code 1009). */
  maxPayload: number;
  /** CORS_ORIGINS: the other sites whose pages may connect (`*` any); the server's own always may. */
  allowedOrigins: string[];
}

type ConnectionParams = { authorization?: unknown } | undefined;
type Connection = WsContext<ConnectionParams, Extra & { operations?: Map<string, AbortController> }>;

/** Clients ping-pong at this interval; a socket that misses a pong is terminated. */
const KEEP_ALIVE_MS = 12_000;

/**
 * The graphql-ws protocol (`graphql-transport-ws`) on `path` of the app's own node server, for Apollo's
 * `GraphQLWsLink` and urql with graphql-ws. The token comes in `connectionParams.authorization`
 * ("Bearer …"): an invalid one closes the connection with 4403, none (outside development auth) with 4401.
 * Each operation then runs exactly as on `/graphql`: persisted operations, yoga's parse and validate with
 * the document limits, the same context (authentication again, the request rate limit), masked errors;
 * the per-user stream cap and timeouts live in the subscriptions themselves. Each operation gets a request
 * whose signal aborts when the client completes it or the socket closes, as an HTTP stream's does.
 * `dispose` closes every socket with 1001 (going away): replies keep running, as with SSE.
 */
export function serveGraphQLWs(options: GraphQLWsOptions) {
  const { yoga, logger } = options;
  const clientAddress = compileClientAddress(options.trustProxy);
  const masked = (error: unknown) => options.maskError(error) as GraphQLError;
  const sockets = new WebSocketServer({
    server: options.server,
    path: options.path,
    maxPayload: options.maxPayload,
    // Browsers apply no CORS to WebSockets: the server checks the page's origin itself (see originAccess).
    verifyClient: ({ origin, req }, done) =>
      originAccess(origin, req.headers.host, options.allowedOrigins) === "refused"
        ? done(false, 403, "Origin not allowed: add it to CORS_ORIGINS")
        : done(true),
  });
  const server = useServer<ConnectionParams, { operations?: Map<string, AbortController> }>(
    {
      async onConnect(ctx: Connection) {
        const upgrade = ctx.extra.request;
        const access = originAccess(upgrade.headers.origin, upgrade.headers.host, options.allowedOrigins);
        if (access === "any" && typeof ctx.connectionParams?.authorization !== "string") {
          ctx.extra.socket.close(
            4403,
            "Forbidden: a page of another site must send connectionParams.authorization",
          );
          return false;
        }
        const request = operationRequest(ctx, options, new AbortController().signal);
        const { clientIp } = trackRequest(request, ctx.extra.request, logger, clientAddress);
        try {
          if ((await options.authenticate(request)) !== null) return true;
          ctx.extra.socket.close(4401, "Unauthorized: send connectionParams.authorization");
          return false;
        } catch (error) {
          if (!(error instanceof ClientError)) throw error;
          await options.countFailedAuthentication(clientIp).catch(() => {});
          return false; // 4403 Forbidden
        }
      },
      async onSubscribe(ctx: Connection, id, params) {
        await options.lane.turn();
        const controller = new AbortController();
        ctx.extra.operations ??= new Map();
        ctx.extra.operations.set(id, controller);
        try {
          const request = operationRequest(ctx, options, controller.signal);
          trackRequest(request, ctx.extra.request, logger, clientAddress);
          const query = options.persisted ? options.persisted.resolve(params) : params.query;
          const enveloped = yoga.getEnveloped({ request, params, req: ctx.extra.request });
          const document = enveloped.parse(query);
          const errors: readonly GraphQLError[] = enveloped.validate(enveloped.schema, document);
          if (errors.length > 0) return errors.map(masked);
          const operation = getOperationAST(document, params.operationName);
          if (!operation)
            throw new ClientError("BAD_USER_INPUT", "Could not determine which operation to run");
          const args: ExecutionArgs = {
            schema: enveloped.schema,
            document,
            contextValue: await enveloped.contextFactory(),
            variableValues: params.variables,
            operationName: params.operationName,
            rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
          };
          return args;
        } catch (error) {
          return [masked(error)];
        }
      },
      execute: (args) => runWith(args, "execute", masked),
      subscribe: (args) => runWith(args, "subscribe", masked),
      onNext: (_ctx, _id, _params, _args, result) => withoutHttpExtensions(result),
      onComplete(ctx: Connection, id) {
        ctx.extra.operations?.get(id)?.abort();
        ctx.extra.operations?.delete(id);
      },
      onClose(ctx: Connection) {
        for (const controller of ctx.extra.operations?.values() ?? []) controller.abort();
      },
    },
    sockets,
    KEEP_ALIVE_MS,
  );
  return {
    /** Closes every connection with 1001 (going away) and stops accepting new ones. */
    dispose: () => server.dispose(),
  };
}

/**
 * How far a page of `origin` may use a socket. Not a browser (no Origin), the server's own pages and the
 * origins CORS_ORIGINS lists: fully. Any other site, when CORS_ORIGINS is `*`: only with a token of its
 * own, since an identity the browser holds for the user (development auth, a proxy's session) must not
 * serve a site the user merely visits. Otherwise: refused.
 */
export function originAccess(
  origin: string | undefined,
  host: string | undefined,
  allowed: string[],
): "full" | "any" | "refused" {
  if (origin === undefined || origin === "" || allowed.includes(origin) || hostOf(origin) === host)
    return "full";
  return allowed.includes("*") ? "any" : "refused";
}

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

type Run = (args: ExecutionArgs) => Promise<ExecutionResult | AsyncIterable<ExecutionResult>>;

/**
 * Runs an operation with yoga's enveloped execute or subscribe, which `onSubscribe` put in rootValue. An
 * error thrown before execution (a plugin refusing the variables) is the operation's result, as over HTTP:
 * graphql-ws would take it for a server fault and close the whole socket.
 */
async function runWith(
  args: ExecutionArgs,
  kind: "execute" | "subscribe",
  mask: (error: unknown) => GraphQLError,
) {
  const run = (args.rootValue as Record<typeof kind, Run>)[kind];
  try {
    return await run({ ...args, rootValue: undefined });
  } catch (error) {
    return { errors: [mask(error)] };
  }
}

/**
 * The request an operation runs as: the upgrade request's URL and headers, with the connection's token as
 * its `Authorization` header, so authentication, request ids and client addresses work as over HTTP.
 */
function operationRequest(ctx: Connection, options: GraphQLWsOptions, signal: AbortSignal): Request {
  const upgrade: IncomingMessage = ctx.extra.request;
  const headers = new Headers();
  for (const name of ["user-agent", "x-request-id", "x-forwarded-for", "origin"]) {
    const value = upgrade.headers[name];
    if (typeof value === "string") headers.set(name, value);
  }
  const authorization = ctx.connectionParams?.authorization;
  if (typeof authorization === "string") headers.set("authorization", authorization);
  // POST: operations come as messages, as in a request body (yoga refuses mutations sent with GET).
  return new Request(`http://${upgrade.headers.host ?? "localhost"}${options.path}`, {
    method: "POST",
    headers,
    signal,
  });
}
