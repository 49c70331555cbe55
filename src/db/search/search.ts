import { BadUserInputError } from "../../core/errors.js";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../../core/pagination.js";
import { decodeSearchCursor, encodeSearchCursor, searchScope } from "../../search/cursor.js";
import { isFragment, type ParsedQuery, parseSearchQuery } from "../../search/query.js";
import { headlineToHtml, textSnippet } from "../../search/snippet.js";
import type { Db } from "../client.js";
import { searchLanguage } from "./language.js";
import {
  type SearchResultRow,
  type SearchRow,
  type SearchSqlInput,
  searchSql,
  unrankedCountSql,
  unrankedSql,
} from "./sql.js";

/** What to search for; see README "Search" for the query syntax and the matching rules. */
export interface SearchMessagesArgs {
  /** Web-search syntax: words, `"phrases"`, `or`, `-excluded`. */
  readonly query: string;
  /** Only this conversation (its database id); then its archived state does not matter. */
  readonly conversationId?: string | null;
  /** Page size, at most {@link MAX_PAGE_SIZE}; default {@link DEFAULT_PAGE_SIZE}. */
  readonly first?: number | null;
  /** The `cursor` of the last result of the previous page. */
  readonly after?: string | null;
  /** Also search archived conversations (default false). */
  readonly includeArchived?: boolean | null;
  /** Only messages on their conversation's active path (default false: every branch). */
  readonly activePathOnly?: boolean | null;
}

/**
 * How a result matched: `WORDS` full-text (stemmed words of the message), `TEXT` the text rule only
 * (fragments, identifiers, short terms), `TITLE` its conversation's title only (the result is then the
 * conversation's first message and the snippet shows the title).
 */
export type SearchMatch = "WORDS" | "TEXT" | "TITLE";

/** One ranked result. */
export interface MessageSearchHit {
  readonly messageId: string;
  readonly conversationId: string;
  readonly createdAt: Date;
  /** Relevance: higher first; equal ranks are ordered newest first. */
  readonly rank: number;
  readonly match: SearchMatch;
  /** Whether the message is on its conversation's active path. */
  readonly isOnActivePath: boolean;
  /** The matching passage as HTML: the text escaped, matches wrapped in `<mark></mark>`. */
  readonly snippet: string;
  /** Opaque; pass as `after` to continue after this result. */
  readonly cursor: string;
}

/** A page of results, best first. */
export interface MessageSearchPage {
  readonly hits: MessageSearchHit[];
  readonly hasNextPage: boolean;
  /**
   * How many results all pages hold together. A ranked search has counted them already; one with nothing
   * to rank reads only a page, and counts (another statement, every match) when this is called.
   */
  readonly totalCount: () => Promise<number>;
}

/**
 * Full-text search over one user's messages, ranked (`ts_rank_cd`, title matches weighing more, newest
 * first among equals; a query of only stop words: newest first), with snippets and keyset cursors. Only
 * `ownerId`'s messages are ever read.
 * Throws `BAD_USER_INPUT` for an empty, over-long or exclusion-only query, a bad page size or cursor.
 */
export async function searchMessages(
  prisma: Db,
  ownerId: string,
  args: SearchMessagesArgs,
): Promise<MessageSearchPage> {
  const parsed = parseSearchQuery(args.query);
  const first = pageSize(args.first);
  const conversationId = args.conversationId ?? null;
  const includeArchived = args.includeArchived ?? false;
  const activePathOnly = args.activePathOnly ?? false;
  const scope = searchScope([ownerId, parsed.text, conversationId, includeArchived, activePathOnly]);
  const after = args.after == null ? null : decodeSearchCursor(args.after, scope);

  const language = await searchLanguage(prisma);
  const plan = await searchPlan(prisma, language, parsed);
  const input: SearchSqlInput = {
    ownerId,
    language,
    parsed,
    textRule: plan.textRule,
    conversationId,
    includeArchived,
    activePathOnly,
    after,
    first,
  };
  let results: SearchResultRow[];
  let totalCount: () => Promise<number>;
  if (plan.ranked) {
    const rows = await prisma.$queryRaw<SearchRow[]>(searchSql(input));
    const total = rows[0]?.total ?? 0;
    results = rows.filter((row): row is SearchRow & SearchResultRow => row.id !== null);
    totalCount = () => Promise.resolve(total);
  } else {
    results = await prisma.$queryRaw<SearchResultRow[]>(unrankedSql(input));
    let counted: Promise<number> | undefined;
    totalCount = () => {
      counted ??= prisma
        .$queryRaw<{ total: number }[]>(unrankedCountSql(input))
        .then(([row]) => row?.total ?? 0);
      return counted;
    };
  }

  const hits = results.slice(0, first).map((row): MessageSearchHit => {
    const position = { rank: row.rank, createdAt: row.createdAt, id: row.id };
    return {
      messageId: row.id,
      conversationId: row.conversationId,
      createdAt: row.createdAt,
      rank: row.rank,
      match: row.kind,
      isOnActivePath: row.onActivePath,
      snippet:
        row.headline !== null ? headlineToHtml(row.headline) : textSnippet(row.plain ?? "", parsed.terms),
      cursor: encodeSearchCursor(position, scope),
    };
  });
  return { hits, hasNextPage: results.length > first, totalCount };
}

function pageSize(first: number | null | undefined): number {
  if (first == null) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw new BadUserInputError(`"first" must be between 0 and ${MAX_PAGE_SIZE}`, "first");
  }
  return first;
}

/**
 * How to answer a query. The text rule (README "Search") is off when `or` joins alternatives; on when a
 * term is a fragment the trigram index can find, or when full-text search has nothing to go on (only stop
 * words). With nothing to go on there is nothing to rank either: every result has rank 0, so the search
 * pages newest first instead of ranking every match.
 */
async function searchPlan(
  prisma: Db,
  language: string,
  parsed: ParsedQuery,
): Promise<{ textRule: boolean; ranked: boolean }> {
  if (parsed.hasOr) return { textRule: false, ranked: true };
  const [row] = await prisma.$queryRaw<{ nodes: number }[]>`
    SELECT numnode(websearch_to_tsquery(${language}::regconfig, ${parsed.text}))::int AS nodes`;
  const empty = row?.nodes === 0;
  return { textRule: empty || parsed.terms.some(isFragment), ranked: !empty };
}
