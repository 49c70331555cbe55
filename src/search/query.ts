import { BadUserInputError } from "../core/errors.js";

/** The longest query accepted, in characters (after trimming). */
export const MAX_QUERY_LENGTH = 256;

/**
 * Whether the text rule matches a term anywhere, even inside a word: it needs three letters or digits in a
 * row, which the trigram index can find. Other terms (`go`, `C#`, `a.b`) match as whole words.
 */
export function isFragment(term: string): boolean {
  return /[\p{L}\p{N}]{3}/u.test(term);
}

/**
 * A search query read the way PostgreSQL's `websearch_to_tsquery` reads it: words, `"quoted phrases"`,
 * `or` between alternatives and `-` before what must not occur. `text` goes to `websearch_to_tsquery`
 * as is (it never fails on syntax); the rest drives the text (fragment) rule, see README "Search".
 */
export interface ParsedQuery {
  /** The query, trimmed, control characters replaced by spaces. */
  readonly text: string;
  /** Words and phrases that must occur, as typed (phrases without their quotes). */
  readonly terms: readonly string[];
  /** Excluded words and phrases, as a `websearch_to_tsquery` alternative (`a or "b c"`); empty when none. */
  readonly excluded: string;
  /** Whether `or` joins alternatives: the text rule then stays off. */
  readonly hasOr: boolean;
}

/**
 * Reads a query; throws `BAD_USER_INPUT` when it is empty, too long, or only excludes. Never throws on
 * syntax: an unclosed quote runs to the end, a lone `-` or `or` is a word, as in `websearch_to_tsquery`.
 */
export function parseSearchQuery(raw: string, maxLength = MAX_QUERY_LENGTH): ParsedQuery {
  // NUL and lone surrogates cannot be sent as PostgreSQL text and would fail the query; other control
  // characters (and the private-use marks the snippets use internally) mean nothing to a search either.
  const text = raw.replace(/[\p{Cc}\p{Cs}\uE000-\uE002]/gu, " ").trim();
  if (text === "") throw new BadUserInputError("Search query must not be empty", "query");
  if ([...text].length > maxLength) {
    throw new BadUserInputError(`Search query must be at most ${maxLength} characters`, "query");
  }

  const terms: string[] = [];
  const excluded: string[] = [];
  let hasOr = false;
  let previousWasTerm = false;
  let pendingOr = false;
  for (const token of tokenize(text)) {
    if (token.kind === "or") {
      // `or` is an operator only between two terms; elsewhere websearch_to_tsquery drops it.
      pendingOr = previousWasTerm;
      previousWasTerm = false;
      continue;
    }
    if (pendingOr) hasOr = true;
    pendingOr = false;
    if (token.negated) excluded.push(token.kind === "phrase" ? `"${token.value}"` : token.value);
    else terms.push(token.value);
    previousWasTerm = true;
  }
  if (terms.length === 0) {
    throw new BadUserInputError("Search query needs a word to look for, not only exclusions", "query");
  }
  return { text, terms, excluded: excluded.join(" or "), hasOr };
}

type Token = { kind: "word" | "phrase"; value: string; negated: boolean } | { kind: "or" };

function* tokenize(text: string): Generator<Token> {
  let i = 0;
  while (i < text.length) {
    const char = text.charAt(i);
    if (/\s/.test(char)) {
      i += 1;
      continue;
    }
    const negated = char === "-" && i + 1 < text.length && !/\s/.test(text.charAt(i + 1));
    const start = negated ? i + 1 : i;
    if (text.charAt(start) === '"') {
      const close = text.indexOf('"', start + 1);
      const end = close === -1 ? text.length : close;
      const value = text
        .slice(start + 1, end)
        .replace(/\s+/g, " ")
        .trim();
      if (value !== "") yield { kind: "phrase", value, negated };
      i = end + 1;
      continue;
    }
    let end = start;
    while (end < text.length && !/\s/.test(text.charAt(end)) && text.charAt(end) !== '"') end += 1;
    const word = text.slice(start, end);
    i = end;
    if (!negated && word.toLowerCase() === "or") {
      yield { kind: "or" };
      continue;
    }
    yield { kind: "word", value: trimPunctuation(word), negated };
  }
}

/**
 * Drops sentence punctuation and brackets around a word (`error?` finds `error`), keeping symbols that are
 * part of names (`C#`, `C++`, `.NET`, `$HOME`, `#123`). A word that is only punctuation stays whole.
 */
function trimPunctuation(word: string): string {
  const trimmed = word.replace(/^[([{'"`]+/u, "").replace(/[)\]}'"`.,;:!?]+$/u, "");
  return trimmed === "" ? word : trimmed;
}
