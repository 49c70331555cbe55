import { BadUserInputError } from "./errors.js";
import { isUuid } from "./ids.js";

/** The largest page a connection serves (CONTRACT: page size ≤ 100). */
export const MAX_PAGE_SIZE = 100;
/** The page size when a client gives neither `first` nor `last`. */
export const DEFAULT_PAGE_SIZE = 20;

/** Rejects page sizes above the maximum, which Pothos would otherwise silently clamp. */
export function checkPageSize(args: { first?: number | null; last?: number | null }): void {
  for (const name of ["first", "last"] as const) {
    const size = args[name];
    if (size != null && size > MAX_PAGE_SIZE) {
      throw new BadUserInputError(`"${name}" must be at most ${MAX_PAGE_SIZE}`, name);
    }
  }
}

/**
 * The id a decoded Pothos cursor points at, or null for a first page. The cursor must hold a UUID; whether
 * the row still exists and belongs to the connection is for the caller to check.
 */
export function cursorId(cursor: { id?: unknown } | undefined): string | null {
  if (cursor === undefined) return null;
  if (!isUuid(cursor.id)) throw staleCursor();
  return cursor.id;
}

/** The error for a cursor that no longer, or never did, point into this connection. */
export function staleCursor(): BadUserInputError {
  return new BadUserInputError("Cursor is invalid or stale: request the first page again", "after");
}
