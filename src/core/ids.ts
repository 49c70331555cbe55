import { decodeGlobalID } from "@pothos/plugin-relay";
import { BadUserInputError, NotFoundError } from "./errors.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a string is a UUID, the form of every database id here. */
export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}

/**
 * The database id inside a Relay global id of the expected type. A string that is no global id at all is
 * `BAD_USER_INPUT`; a well-formed id of another type, or one that cannot exist, is `NOT_FOUND`, exactly
 * like an id of someone else's object.
 */
export function parseGlobalId(globalId: string, typename: string, field = "id"): string {
  let decoded: { typename: string; id: string };
  try {
    decoded = decodeGlobalID(globalId);
  } catch {
    throw new BadUserInputError(`"${field}" is not a valid ID`, field);
  }
  if (decoded.typename !== typename || !isUuid(decoded.id)) throw new NotFoundError(typename);
  return decoded.id;
}
