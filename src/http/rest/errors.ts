import { ClientError, type ErrorCode, RateLimitedError } from "../../core/errors.js";

/** FastAPI's status for each client error: validation failures are 422, as FastAPI answers them. */
const status: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 422,
  RATE_LIMITED: 429,
  CONFLICT: 409,
  INTERNAL: 500,
};

/** A request the REST adapter refuses before calling anything: FastAPI's 422 for a bad parameter. */
export class InvalidParameterError extends ClientError {
  readonly location: (string | number)[];
  constructor(location: (string | number)[], message: string) {
    super("BAD_USER_INPUT", message);
    this.location = location;
  }
}

/**
 * An error as FastAPI answers it: `{"detail": "..."}`, or for validation (422) FastAPI's list
 * `{"detail": [{"loc": [...], "msg": "...", "type": "value_error"}]}`. Anything that is not a client error
 * goes through `mask` (logged there) and answers 500 without details.
 */
export function restError(error: unknown, mask: (error: unknown) => Error): Response {
  if (!(error instanceof ClientError)) {
    mask(error);
    return Response.json({ detail: "Internal Server Error" }, { status: 500 });
  }
  const headers: Record<string, string> = {};
  if (error instanceof RateLimitedError) headers["retry-after"] = String(error.retryAfter);
  if (error.code === "UNAUTHENTICATED") headers["www-authenticate"] = "Bearer";
  const detail =
    error.code === "BAD_USER_INPUT"
      ? [
          {
            loc: error instanceof InvalidParameterError ? error.location : ["body"],
            msg: error.message,
            type: "value_error",
          },
        ]
      : error.message;
  // A transport's own status (413 for a body over the limit, 400 for one that is not UTF-8) stands.
  const own = (error.extensions.http as { status?: number } | undefined)?.status;
  return Response.json({ detail }, { status: own && own !== 200 ? own : status[error.code], headers });
}
