import { type DocumentNode, Kind, visit } from "graphql";
import type { Plugin } from "graphql-yoga";
import { BadUserInputError } from "../core/errors.js";

/**
 * Refuses, before anything executes, an operation whose text inputs hold U+0000 anywhere: in a variable
 * (however deeply nested, JSON arguments included) or a string literal of the document. PostgreSQL cannot
 * store the NUL character in `text` or `jsonb`, so a title, message, idempotency key, model name or search
 * query carrying one would otherwise fail inside the database as a server error, after part of the work.
 */
export function useStorableText(): Plugin {
  const literalNul = new WeakMap<DocumentNode, boolean>();
  const check = (args: { document: DocumentNode; variableValues?: unknown }) => {
    let inDocument = literalNul.get(args.document);
    if (inDocument === undefined) {
      inDocument = hasNulLiteral(args.document);
      literalNul.set(args.document, inDocument);
    }
    if (inDocument || holdsNul(args.variableValues)) {
      throw new BadUserInputError("Text must not contain the NUL character (U+0000)");
    }
  };
  return {
    onExecute: ({ args }) => check(args),
    onSubscribe: ({ args }) => check(args),
  };
}

/**
 * Whether a JSON value holds U+0000 in any string, key or value. Only plain objects are walked: an uploaded
 * File among the variables is bytes (read by its own resolver), and walking its buffer's entries one by one
 * took seconds and hundreds of MB for a file of a few MB.
 */
export function holdsNul(value: unknown): boolean {
  if (typeof value === "string") return value.includes("\0");
  if (Array.isArray(value)) return value.some(holdsNul);
  if (isPlainObject(value)) {
    return Object.entries(value).some(([key, item]) => key.includes("\0") || holdsNul(item));
  }
  return false;
}

function hasNulLiteral(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    [Kind.STRING]: (node) => {
      if (node.value.includes("\0")) found = true;
    },
  });
  return found;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
