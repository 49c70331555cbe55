import { PothosValidationError } from "@pothos/core";
import { GraphQLError } from "graphql";
import { BadUserInputError, ClientError, ConflictError, type ErrorCode } from "../core/errors.js";
import { isRecordNotFound, isUniqueViolation } from "../db/errors.js";
import type { Logger } from "../observability/logger.js";

/**
 * Turns any error a resolver raised into what a client may see: client errors as they are, known library
 * failures mapped to their meaning, everything else `INTERNAL` with no message, stack or SQL (logged here).
 */
export function createMaskError(logger: Logger) {
  return (error: unknown): Error => {
    const graphqlError = error instanceof GraphQLError ? error : null;
    const original = graphqlError?.originalError ?? error;
    // graphql-js's located error already carries the client error's extensions: returned as it is, yoga
    // does not log it as a masked (server) failure.
    if (original instanceof ClientError) return graphqlError ?? original;
    if (original instanceof PothosValidationError) {
      return relocate(new BadUserInputError(original.message), graphqlError);
    }
    if (isRecordNotFound(original)) return relocate(new ClientError("NOT_FOUND", "Not found"), graphqlError);
    if (isUniqueViolation(original))
      return relocate(new ConflictError("Conflicts with existing data"), graphqlError);
    // Errors raised as GraphQL errors by graphql-js, yoga or graphql-armor (malformed requests, variable
    // coercion, limits) are the client's and safe to show, with the contract's code (set in place: a new
    // error object would make yoga log the client's mistake as a server error) and yoga's HTTP status.
    if (original instanceof GraphQLError) {
      const shown = graphqlError ?? original;
      const code = shown.extensions.code;
      if (typeof code === "string" && CONTRACT_CODES.has(code as ErrorCode)) return shown;
      if (code !== "INTERNAL_SERVER_ERROR") {
        const extensions = shown.extensions as Record<string, unknown>;
        extensions.code = "BAD_USER_INPUT";
        delete extensions.originalError;
        return shown;
      }
    }
    logger.error({ err: original, path: graphqlError?.path }, "internal error");
    return relocate(new ClientError("INTERNAL", "Internal server error"), graphqlError);
  };
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
