import { readFile } from "node:fs/promises";
import type { Plugin } from "graphql-yoga";
import { BadUserInputError } from "../core/errors.js";

/** The request fields persisted operations look at. */
export interface OperationParams {
  query?: string | null;
  extensions?: Record<string, unknown> | null;
}

/**
 * The allow-list of operations, as the codegen client preset writes it (`persisted-documents.json`:
 * `"sha256:<hex>"` -> document). Clients send `extensions: { persistedQuery: { version: 1, sha256Hash } }`
 * (Apollo's persisted-query form; the hash with or without its `sha256:` prefix, as the preset's
 * `document.__meta__.hash` gives it). With `only`, documents the list does not hold are refused.
 */
export class PersistedOperations {
  constructor(
    private readonly documents: ReadonlyMap<string, string>,
    readonly only: boolean,
  ) {}

  /** Reads a `persisted-documents.json` file. */
  static async load(file: string, only: boolean): Promise<PersistedOperations> {
    const raw = JSON.parse(await readFile(file, "utf8")) as unknown;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      throw new Error(`${file}: expected an object of hash -> document`);
    }
    const entries = Object.entries(raw).filter((e): e is [string, string] => typeof e[1] === "string");
    return new PersistedOperations(new Map(entries), only);
  }

  /** How many operations the list holds. */
  get size(): number {
    return this.documents.size;
  }

  /**
   * The document to run: the persisted one the hash names, else (unless only persisted operations are
   * accepted) the request's own text. Throws `BAD_USER_INPUT` otherwise; nothing has run yet.
   */
  resolve(params: OperationParams): string {
    const hash = persistedHash(params.extensions);
    if (hash !== null) {
      // The client preset keys documents as "sha256:<hex>"; Apollo-style clients send the bare hex.
      const document = this.documents.get(hash) ?? this.documents.get(`sha256:${hash}`);
      if (document !== undefined) return document;
      if (this.only || !params.query) {
        throw new BadUserInputError("Unknown persisted operation", "extensions.persistedQuery");
      }
    }
    if (this.only) {
      throw new BadUserInputError(
        "Only persisted operations are accepted: send extensions.persistedQuery.sha256Hash",
        "query",
      );
    }
    if (!params.query) throw new BadUserInputError("Missing query", "query");
    return params.query;
  }
}

function persistedHash(extensions: OperationParams["extensions"]): string | null {
  const persisted = extensions?.persistedQuery as { version?: unknown; sha256Hash?: unknown } | undefined;
  if (persisted?.version === 1 && typeof persisted.sha256Hash === "string") return persisted.sha256Hash;
  return null;
}

/**
 * Applies the allow-list on `/graphql` (GET and POST). The graphql-sse endpoint never reaches yoga's
 * `onParams`, so src/http/graphql-sse.ts calls the same {@link PersistedOperations.resolve}.
 */
export function usePersistedOperations(operations: PersistedOperations): Plugin {
  return {
    onParams({ params, setParams }) {
      setParams({ ...params, query: operations.resolve(params) });
    },
  };
}
