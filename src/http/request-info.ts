import type { IncomingMessage } from "node:http";
import type { Plugin } from "graphql-yoga";
import type { TrustProxy } from "../core/config.js";
import { newUuid } from "../core/ids.js";
import type { Logger } from "../observability/logger.js";
import { compileClientAddress } from "./client-address.js";

/** What the transport knows of a request before GraphQL runs. */
export interface RequestInfo {
  /** The client's `X-Request-Id` when it is sane, else a new UUID; echoed in the response and every log. */
  readonly id: string;
  /** The client's address: the socket's, or the `X-Forwarded-For` entry the trusted proxies vouch for. */
  readonly clientIp: string;
  /** The request's logger: every line carries the request id (made when first asked for). */
  readonly logger: Logger;
  readonly startedAt: number;
}

const SANE_REQUEST_ID = /^[\w.:-]{1,128}$/;
const infos = new WeakMap<Request, RequestInfo>();

/** The client address of a request, as the operator's TRUST_PROXY setting reads it. */
export type ClientAddress = ReturnType<typeof compileClientAddress>;
const socketOnly = compileClientAddress(null);

/** The request's info; a request yoga never saw (tests calling resolvers) gets a fresh one. */
export function requestInfo(request: Request, logger: Logger): RequestInfo {
  return infos.get(request) ?? describe(request, undefined, logger, socketOnly);
}

/**
 * Registers a request another transport built from a node request (a graphql-ws operation), as yoga's
 * `onRequest` does for its own: the same id, client address and logger.
 */
export function trackRequest(
  request: Request,
  req: IncomingMessage,
  logger: Logger,
  clientAddress: ClientAddress,
): RequestInfo {
  const info = describe(request, req, logger, clientAddress);
  infos.set(request, info);
  return info;
}

function describe(
  request: Request,
  req: IncomingMessage | undefined,
  logger: Logger,
  clientAddress: ClientAddress,
): RequestInfo {
  const given = request.headers.get("x-request-id");
  const id = given && SANE_REQUEST_ID.test(given) ? given : newUuid();
  const clientIp = clientAddress(
    request.headers.get("x-forwarded-for"),
    req?.socket?.remoteAddress ?? "unknown",
  );
  return new DescribedRequest(id, clientIp, logger);
}

/**
 * A request's info, whose child logger is made only if something logs with it: a stream's request is held
 * for as long as the stream is open, and most log nothing of their own.
 */
class DescribedRequest implements RequestInfo {
  readonly startedAt = performance.now();
  private child: Logger | undefined;

  constructor(
    readonly id: string,
    readonly clientIp: string,
    private readonly parent: Logger,
  ) {}

  get logger(): Logger {
    this.child ??= this.parent.child({ requestId: this.id });
    return this.child;
  }
}

/**
 * Gives each request an id (`X-Request-Id`, echoed in the response) and a child logger carrying it, and
 * logs one line per response: method, path, status, time to the response head.
 */
export function useRequestInfo(
  logger: Logger,
  trustProxy: TrustProxy,
): Plugin<object, { req?: IncomingMessage }> {
  const clientAddress = compileClientAddress(trustProxy);
  return {
    onRequest({ request, serverContext }) {
      infos.set(request, describe(request, serverContext?.req, logger, clientAddress));
    },
    onResponse({ request, response }) {
      const info = infos.get(request);
      if (!info) return;
      response.headers.set("x-request-id", info.id);
      const { pathname } = new URL(request.url);
      if (pathname === "/healthz" || pathname === "/readyz" || pathname === "/metrics") return;
      // The request id as a field of the line is the line the request's child logger would write.
      logger.info(
        {
          requestId: info.id,
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
