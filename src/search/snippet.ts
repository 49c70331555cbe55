import { isFragment } from "./query.js";

// ts_headline wraps matches in these private-use characters rather than in HTML, so the text around them
// can be escaped afterwards. It also drops what its parser takes for HTML tags (`<script>` would vanish
// from the snippet), so `<` reaches it as LESS_THAN and comes back here. The query and the headlined text
// never contain these characters (both are stripped of them).
/** Start of a match in a headline from the database. */
export const MARK_START = "\uE000";
/** End of a match in a headline from the database. */
export const MARK_END = "\uE001";
/** Stands for `<` in the text given to ts_headline. */
export const LESS_THAN = "\uE002";

/** How long a snippet built here may get, in characters, not counting the ellipses. */
export const SNIPPET_LENGTH = 200;

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text made safe to put in HTML, as element content or inside a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

/** A `ts_headline` result (matches between {@link MARK_START} and {@link MARK_END}) as escaped HTML. */
export function headlineToHtml(headline: string): string {
  let html = "";
  let open = false;
  for (const part of headline.trim().split(/([\uE000\uE001])/u)) {
    if (part === MARK_START) {
      if (!open) html += "<mark>";
      open = true;
    } else if (part === MARK_END) {
      if (open) html += "</mark>";
      open = false;
    } else {
      html += escapeHtml(part.replaceAll(LESS_THAN, "<"));
    }
  }
  return open ? `${html}</mark>` : html;
}

/**
 * A snippet for a match of the text rule: the passage around the first occurrence of a term, HTML-escaped,
 * with every occurrence in it wrapped in `<mark>`. Fragments (see {@link isFragment}) match anywhere, other
 * terms as whole words, as in the search. Ellipses mark cut text.
 */
export function textSnippet(text: string, terms: readonly string[], maxLength = SNIPPET_LENGTH): string {
  const pattern = termPattern(terms);
  const first = pattern?.exec(text);
  const around = first ? first.index : 0;
  let start = around <= maxLength / 3 ? 0 : softBoundary(text, around - Math.floor(maxLength / 3), "forward");
  let end =
    start + maxLength >= text.length ? text.length : softBoundary(text, start + maxLength, "backward");
  if (end <= start) end = Math.min(text.length, start + maxLength);
  start = codePointBoundary(text, start);
  end = codePointBoundary(text, end);

  const window = text.slice(start, end);
  let html = "";
  let last = 0;
  if (pattern) {
    pattern.lastIndex = 0;
    for (const match of window.matchAll(pattern)) {
      html += `${escapeHtml(window.slice(last, match.index))}<mark>${escapeHtml(match[0])}</mark>`;
      last = match.index + match[0].length;
    }
  }
  html += escapeHtml(window.slice(last));
  return `${start > 0 ? "… " : ""}${html.trim()}${end < text.length ? " …" : ""}`;
}

/** One case-insensitive pattern for all terms, longest first so overlapping terms mark the longer one. */
function termPattern(terms: readonly string[]): RegExp | null {
  const alternatives = [...new Set(terms)]
    .filter((term) => term !== "")
    .sort((a, b) => b.length - a.length)
    .map((term) => {
      const escaped = term.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
      return isFragment(term) ? escaped : `(?<![\\p{L}\\p{N}_])${escaped}(?![\\p{L}\\p{N}_])`;
    });
  return alternatives.length === 0 ? null : new RegExp(alternatives.join("|"), "giu");
}

/** The nearest whitespace within 20 characters of `index` in the given direction, else `index`. */
function softBoundary(text: string, index: number, direction: "forward" | "backward"): number {
  for (let step = 0; step <= 20; step += 1) {
    const at = direction === "forward" ? index + step : index - step;
    if (at <= 0 || at >= text.length) break;
    if (/\s/.test(text.charAt(at))) return direction === "forward" ? at + 1 : at;
  }
  return index;
}

/** Moves an index off the middle of a surrogate pair, so a cut never leaves half a character. */
function codePointBoundary(text: string, index: number): number {
  const code = text.charCodeAt(index);
  return index > 0 && index < text.length && code >= 0xdc00 && code <= 0xdfff ? index - 1 : index;
}
