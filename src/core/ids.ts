import { randomUUID } from "node:crypto";
import { decodeGlobalID } from "@pothos/plugin-relay";
import { BadUserInputError, NotFoundError } from "./errors.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A new random UUID (version 4), as one flat string. Node's `randomUUID` joins twenty pieces, and V8 keeps
 * the result as a tree of them: 490 bytes of heap where the flat string takes 56 (20,000 ids, after a full
 * collection). Ids live as long as what they name (a stream's lease, a reply, a request's log lines), so
 * reading a character flattens the tree in place, and the next collection drops its pieces.
 */
export function newUuid(): string {
  const id = randomUUID();
  id.charCodeAt(0);
  return id;
}

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
  const id = decodeTyped(globalId, typename);
  if (id === undefined) throw new BadUserInputError(`"${field}" is not a valid ID`, field);
  if (id === null) throw new NotFoundError(typename);
  return id;
}

/**
 * The database id a value names for `typename`: a global id of that type, or the bare UUID (clients outside
 * GraphQL, such as the built-in MCP server's tools, may pass either). Null when it names no such object.
 */
export function databaseIdOf(value: string, typename: string): string | null {
  return isUuid(value) ? value : (decodeTyped(value, typename) ?? null);
}

/**
 * The UUID inside a global id of `typename`; null for another type's id or one that cannot exist, undefined
 * when the string is no global id at all (callers tell the two apart differently).
 */
function decodeTyped(globalId: string, typename: string): string | null | undefined {
  let decoded: { typename: string; id: string };
  try {
    decoded = decodeGlobalID(globalId);
  } catch {
    return undefined;
  }
  return decoded.typename === typename && isUuid(decoded.id) ? decoded.id : null;
}
