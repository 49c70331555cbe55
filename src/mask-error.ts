import { PothosValidationError } from "@pothos/core";
import { GraphQLError } from "graphql";
import { isRecordNotFound, isUniqueViolation } from "./db/errors.js";
import { BadUserInputError, ClientError, ConflictError } from "./errors.js";
import type { Logger } from "./logger.js";

/**
 * Turns any error a resolver raised into what a client may see: client errors as they are, known library
 * failures mapped to their meaning, everything else `INTERNAL` with no message, stack or SQL (logged here).
 */
export function createMaskError(logger: Logger) {
  return (error: unknown): Error => {
    const graphqlError = error instanceof GraphQLError ? error : null;
    const original = graphqlError?.originalError ?? error;
    if (original instanceof ClientError) return relocate(original, graphqlError);
    if (original instanceof PothosValidationError) {
      return relocate(new BadUserInputError(original.message), graphqlError);
    }
    if (isRecordNotFound(original)) return relocate(new ClientError("NOT_FOUND", "Not found"), graphqlError);
    if (isUniqueViolation(original))
      return relocate(new ConflictError("Conflicts with existing data"), graphqlError);
    // Errors raised as GraphQL errors by graphql-js or yoga (variable coercion and the like) are safe to show.
    if (original instanceof GraphQLError) {
      const shown = graphqlError ?? original;
      return shown.extensions.code ? shown : relocate(new BadUserInputError(shown.message), graphqlError);
    }
    logger.error({ err: original, path: graphqlError?.path }, "internal error");
    return relocate(new ClientError("INTERNAL", "Internal server error"), graphqlError);
  };
}

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
