import { createHash } from "node:crypto";
import type { ToolAddress } from "../tools.js";

/** OpenAI's rule for function names (other vendors' rules are looser or the same). */
const MAX_LENGTH = 64;
const INVALID = /[^A-Za-z0-9_-]/g;

/**
 * The name a server's tool is offered to the model under: `server__tool`, namespaced so two servers' tools
 * never clash, and kept to OpenAI's rule (`^[A-Za-z0-9_-]{1,64}$`). When that rule changes a name
 * (characters replaced, or cut to length), a short hash of the original is appended so distinct tools keep
 * distinct names. Deterministic, so stored calls replay under the same name.
 */
export function toolModelName(server: string, tool: string): string {
  const joined = `${server}__${tool}`;
  const clean = joined.replace(INVALID, "_");
  if (clean === joined && clean.length <= MAX_LENGTH) return clean;
  const hash = createHash("sha256").update(`${server}\u0000${tool}`).digest("hex").slice(0, 8);
  return `${clean.slice(0, MAX_LENGTH - hash.length - 1)}_${hash}`;
}

/** The name a tool is offered to the model under; a tool of no server (`server` empty) keeps its own. */
export function addressModelName(address: ToolAddress): string {
  return address.server === "" ? address.name : toolModelName(address.server, address.name);
}
