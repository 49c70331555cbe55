import { PothosValidationError } from "@pothos/core";
import { GraphQLError } from "graphql";
import type { YogaLogger } from "graphql-yoga";
import { BadUserInputError, ClientError, ConflictError, type ErrorCode } from "../core/errors.js";
import { isRecordNotFound, isUniqueViolation } from "../db/errors.js";
import type { Logger } from "../observability/logger.js";

/** The masking function yoga and the graphql-sse endpoint share, and the logger yoga is given with it. */
export interface ErrorMasking {
  maskError: (error: unknown) => Error;
  yogaLogger: YogaLogger;
}

/**
 * Turns any error a resolver raised into what a client may see: client errors as they are, known library
 * failures mapped to their meaning, everything else `INTERNAL` with no message, stack or SQL. Only those
 * last ones are server faults, logged at error level with their stack; a client's mistake is a debug line
 * with its code and message, so nobody can flood the error log by sending bad requests.
 */
export function createErrorMasking(logger: Logger): ErrorMasking {
  // yoga logs at error level every error whose masked form differs from it; those it hands to
  // `maskError` are reported here already, at the level they deserve.
  const reported = new WeakSet<object>();
  const clientMistake = (shown: GraphQLError, original: unknown): GraphQLError => {
    if (typeof original === "object" && original !== null) reported.add(original);
    logger.debug({ code: shown.extensions.code, error: shown.message, path: shown.path }, "client error");
    return shown;
  };
  const maskError = (error: unknown): Error => {
    const graphqlError = error instanceof GraphQLError ? error : null;
    const original = graphqlError?.originalError ?? error;
    if (typeof error === "object" && error !== null) reported.add(error);
    // graphql-js's located error already carries the client error's extensions.
    if (original instanceof ClientError) return clientMistake(graphqlError ?? original, original);
    if (original instanceof PothosValidationError) {
      return clientMistake(relocate(new BadUserInputError(original.message), graphqlError), original);
    }
    if (isRecordNotFound(original)) {
      return clientMistake(relocate(new ClientError("NOT_FOUND", "Not found"), graphqlError), original);
    }
    if (isUniqueViolation(original)) {
      return clientMistake(
        relocate(new ConflictError("Conflicts with existing data"), graphqlError),
        original,
      );
    }
    // Errors raised as GraphQL errors by graphql-js, yoga or graphql-armor (malformed requests, variable
    // coercion, limits) are the client's and safe to show, with the contract's code (set in place, so the
    // response keeps yoga's HTTP status).
    if (original instanceof GraphQLError) {
      const shown = graphqlError ?? original;
      const code = shown.extensions.code;
      if (typeof code === "string" && CONTRACT_CODES.has(code as ErrorCode))
        return clientMistake(shown, original);
      if (code !== "INTERNAL_SERVER_ERROR") {
        const extensions = shown.extensions as Record<string, unknown>;
        extensions.code = "BAD_USER_INPUT";
        delete extensions.originalError;
        return clientMistake(shown, original);
      }
    }
    logger.error({ err: original, path: graphqlError?.path }, "internal error");
    return relocate(new ClientError("INTERNAL", "Internal server error"), graphqlError);
  };
  const yogaLogger: YogaLogger = {
    debug: logger.debug.bind(logger),
    info: logger.info.bind(logger),
    warn: logger.warn.bind(logger),
    error: (first: unknown, ...rest: unknown[]) => {
      if (typeof first === "object" && first !== null && reported.has(first)) return;
      logger.error(first as object, ...(rest as []));
    },
  };
  return { maskError, yogaLogger };
}

const CONTRACT_CODES = new Set<ErrorCode>([
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "BAD_USER_INPUT",
  "RATE_LIMITED",
  "CONFLICT",
  "INTERNAL",
]);

/** Keeps the path and locations of the error graphql-js reported for the new error. */
function relocate(error: ClientError, at: GraphQLError | null): GraphQLError {
  if (!at) return error;
  return new GraphQLError(error.message, {
    nodes: at.nodes,
    source: at.source,
    positions: at.positions,
    path: at.path,
    originalError: error,
    extensions: error.extensions,
  });
}
