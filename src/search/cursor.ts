import { createHash } from "node:crypto";
import { BadUserInputError } from "../core/errors.js";
import { isUuid } from "../core/ids.js";

/** Where a result sits in the search order: rank, then newest first, then id (all descending). */
export interface SearchPosition {
  readonly rank: number;
  readonly createdAt: Date;
  readonly id: string;
}

const VERSION = "s1";

/**
 * A short digest of what a cursor belongs to (viewer, query, filters): a cursor handed to another search
 * is refused instead of silently skipping an unrelated part of its results.
 */
export function searchScope(parts: readonly unknown[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("base64url").slice(0, 12);
}

/** The opaque cursor of a result: its keyset position plus the scope it belongs to. */
export function encodeSearchCursor(position: SearchPosition, scope: string): string {
  const payload = [VERSION, scope, position.rank, position.createdAt.getTime(), position.id];
  return Buffer.from(JSON.stringify(payload)).toString("base64url");
}

/** The position a cursor holds; `BAD_USER_INPUT` when it is malformed or from another search. */
export function decodeSearchCursor(cursor: string, scope: string): SearchPosition {
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalidCursor();
  }
  if (!Array.isArray(payload) || payload.length !== 5) throw invalidCursor();
  const [version, cursorScope, rank, time, id] = payload as unknown[];
  if (version !== VERSION || typeof rank !== "number" || !Number.isFinite(rank)) throw invalidCursor();
  if (typeof time !== "number" || !Number.isSafeInteger(time) || !isUuid(id)) throw invalidCursor();
  if (cursorScope !== scope) {
    throw new BadUserInputError("Cursor belongs to another search: request the first page again", "after");
  }
  return { rank, createdAt: new Date(time), id };
}

function invalidCursor(): BadUserInputError {
  return new BadUserInputError("Cursor is invalid", "after");
}
