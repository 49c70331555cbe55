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
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    const status = httpStatus[code];
    super(message, {
      extensions: { ...extensions, code, ...(status === 200 ? {} : { http: { status } }) },
    });
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
