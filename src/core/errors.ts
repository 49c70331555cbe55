import { GraphQLError } from "graphql";

/** The `extensions.code` values a client can rely on (see CONTRACT.md). */
export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "BAD_USER_INPUT"
  | "RATE_LIMITED"
  | "CONFLICT"
  | "INTERNAL";

const httpStatus: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 200,
  BAD_USER_INPUT: 200,
  RATE_LIMITED: 429,
  CONFLICT: 200,
  INTERNAL: 500,
};

/**
 * An error meant for the client: its message is shown as is and `extensions.code` says what went wrong.
 * Anything else a resolver throws is masked as `INTERNAL`.
 */
export class ClientError extends GraphQLError {
  readonly code: ErrorCode;
  constructor(
    code: ErrorCode,
    message: string,
    extensions: Record<string, unknown> = {},
    http: { status?: number; headers?: Record<string, string> } = {},
  ) {
    const status = http.status ?? httpStatus[code];
    // yoga turns `extensions.http` into the response's status and headers and leaves it out of the body.
    const httpExtension =
      status === 200 && !http.headers
        ? {}
        : { http: { status, ...(http.headers && { headers: http.headers }) } };
    super(message, { extensions: { ...extensions, code, ...httpExtension } });
    this.code = code;
  }
}

/** The request carries no valid identity. */
export class UnauthenticatedError extends ClientError {
  constructor(message = "Authentication required") {
    super("UNAUTHENTICATED", message);
  }
}

/** The object does not exist, or belongs to someone else: the two answers are identical on purpose. */
export class NotFoundError extends ClientError {
  constructor(typename: string) {
    super("NOT_FOUND", `${typename} not found`);
  }
}

/** An argument is invalid; `field` names it when there is one. */
export class BadUserInputError extends ClientError {
  constructor(message: string, field?: string) {
    super("BAD_USER_INPUT", message, field ? { field } : {});
  }
}

/** The request conflicts with the current state (e.g. a reply is already running). */
export class ConflictError extends ClientError {
  constructor(message: string) {
    super("CONFLICT", message);
  }
}

/** The request is refused by the transport's rules (e.g. CSRF prevention). */
export class ForbiddenError extends ClientError {
  constructor(message: string) {
    super("FORBIDDEN", message);
  }
}

/**
 * A rate limit or quota is exhausted: `extensions.retryAfter` says in how many seconds to try again and
 * `extensions.limit` which limit it was; HTTP responses also carry `Retry-After`.
 */
export class RateLimitedError extends ClientError {
  readonly retryAfter: number;
  readonly limit: string;
  constructor(limit: string, message: string, retryAfterSeconds: number) {
    const retryAfter = Math.max(1, Math.ceil(retryAfterSeconds));
    super("RATE_LIMITED", message, { retryAfter, limit }, { headers: { "retry-after": String(retryAfter) } });
    this.retryAfter = retryAfter;
    this.limit = limit;
  }
}
