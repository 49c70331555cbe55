import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Plugin } from "graphql-yoga";
import type { Logger } from "../observability/logger.js";

/** What the transport knows of a request before GraphQL runs. */
export interface RequestInfo {
  /** The client's `X-Request-Id` when it is sane, else a new UUID; echoed in the response and every log. */
  readonly id: string;
  /** The client's address (the first `X-Forwarded-For` hop when the proxy is trusted). */
  readonly clientIp: string;
  /** The request's logger: every line carries the request id. */
  readonly logger: Logger;
  readonly startedAt: number;
}

const SANE_REQUEST_ID = /^[\w.:-]{1,128}$/;
const infos = new WeakMap<Request, RequestInfo>();

/** The request's info; a request yoga never saw (tests calling resolvers) gets a fresh one. */
export function requestInfo(request: Request, logger: Logger): RequestInfo {
  return infos.get(request) ?? describe(request, undefined, logger, false);
}

/**
 * Registers a request another transport built from a node request (a graphql-ws operation), as yoga's
 * `onRequest` does for its own: the same id, client address and logger.
 */
export function trackRequest(
  request: Request,
  req: IncomingMessage,
  logger: Logger,
  trustProxy: boolean,
): RequestInfo {
  const info = describe(request, req, logger, trustProxy);
  infos.set(request, info);
  return info;
}

/** The client address of a node request: the socket's, or the first forwarded hop behind a trusted proxy. */
function clientAddress(request: Request, req: IncomingMessage | undefined, trustProxy: boolean) {
  if (trustProxy) {
    const forwarded = request.headers.get("x-forwarded-for")?.split(",")[0]?.trim();
    if (forwarded) return forwarded;
  }
  return req?.socket?.remoteAddress ?? "unknown";
}

function describe(
  request: Request,
  req: IncomingMessage | undefined,
  logger: Logger,
  trustProxy: boolean,
): RequestInfo {
  const given = request.headers.get("x-request-id");
  const id = given && SANE_REQUEST_ID.test(given) ? given : randomUUID();
  return {
    id,
    clientIp: clientAddress(request, req, trustProxy),
    logger: logger.child({ requestId: id }),
    startedAt: performance.now(),
  };
}

/**
 * Gives each request an id (`X-Request-Id`, echoed in the response) and a child logger carrying it, and
 * logs one line per response: method, path, status, time to the response head.
 */
export function useRequestInfo(
  logger: Logger,
  trustProxy: boolean,
): Plugin<object, { req?: IncomingMessage }> {
  return {
    onRequest({ request, serverContext }) {
      infos.set(request, describe(request, serverContext?.req, logger, trustProxy));
    },
    onResponse({ request, response }) {
      const info = infos.get(request);
      if (!info) return;
      response.headers.set("x-request-id", info.id);
      const { pathname } = new URL(request.url);
      if (pathname === "/healthz" || pathname === "/readyz" || pathname === "/metrics") return;
      info.logger.info(
        {
          method: request.method,
          path: pathname,
          status: response.status,
          ms: Math.round(performance.now() - info.startedAt),
          ip: info.clientIp,
        },
        "request",
      );
    },
  };
}
