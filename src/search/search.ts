import type { Db } from "../db/client.js";
import { BadUserInputError } from "../errors.js";
import { Prisma } from "../generated/prisma/client.js";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../resolvers/pagination.js";
import { decodeSearchCursor, encodeSearchCursor, type SearchPosition, searchScope } from "./cursor.js";
import { searchLanguage } from "./language.js";
import { MIN_FRAGMENT_LENGTH, type ParsedQuery, parseSearchQuery } from "./query.js";
import { headlineToHtml, LESS_THAN, MARK_END, MARK_START, textSnippet } from "./snippet.js";

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
  /** The matching passage as HTML: the text escaped, matches wrapped in `<mark></mark>`. */
  readonly snippet: string;
  /** Opaque; pass as `after` to continue after this result. */
  readonly cursor: string;
}

/** A page of results, best first. */
export interface MessageSearchPage {
  readonly hits: MessageSearchHit[];
  readonly hasNextPage: boolean;
}

// ts_headline shows a short text whole; a longer one as up to two passages of 8 to 24 words around the
// best matches (ShortWord=0: short words at a passage's edges stay).
const SHORT_TEXT = 240;
const WHOLE_TEXT = `StartSel=${MARK_START}, StopSel=${MARK_END}, HighlightAll=true`;
const PASSAGES = `StartSel=${MARK_START}, StopSel=${MARK_END}, MaxFragments=2, MinWords=8, MaxWords=24, ShortWord=0, FragmentDelimiter=" … "`;
// translate(): `<` becomes LESS_THAN, the marks (and LESS_THAN itself) are dropped.
const HEADLINE_FROM = `<${MARK_START}${MARK_END}${LESS_THAN}`;

/**
 * Full-text search over one user's messages, ranked (`ts_rank_cd`, title matches weighing more, newest
 * first among equals), with snippets and keyset cursors. Only `ownerId`'s messages are ever read.
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
  const scope = searchScope([ownerId, parsed.text, conversationId, includeArchived]);
  const after = args.after == null ? null : decodeSearchCursor(args.after, scope);
  if (first === 0) return { hits: [], hasNextPage: false };

  const language = await searchLanguage(prisma);
  const textRule = (await textRuleApplies(prisma, language, parsed)) ? parsed : null;
  const rows = await prisma.$queryRaw<Row[]>(
    searchSql({ ownerId, language, parsed, textRule, conversationId, includeArchived, after, first }),
  );

  const hits = rows.slice(0, first).map((row): MessageSearchHit => {
    const position = { rank: row.rank, createdAt: row.createdAt, id: row.id };
    return {
      messageId: row.id,
      conversationId: row.conversationId,
      createdAt: row.createdAt,
      rank: row.rank,
      match: row.kind,
      snippet:
        row.headline !== null ? headlineToHtml(row.headline) : textSnippet(row.plain ?? "", parsed.terms),
      cursor: encodeSearchCursor(position, scope),
    };
  });
  return { hits, hasNextPage: rows.length > first };
}

interface Row {
  id: string;
  conversationId: string;
  createdAt: Date;
  rank: number;
  kind: SearchMatch;
  /** ts_headline output, for matches found by full-text search. */
  headline: string | null;
  /** The raw message text or title, for matches of the text rule (the snippet is built here). */
  plain: string | null;
}

function pageSize(first: number | null | undefined): number {
  if (first == null) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
    throw new BadUserInputError(`"first" must be between 0 and ${MAX_PAGE_SIZE}`, "first");
  }
  return first;
}

/**
 * The text rule (README "Search"): off when `or` joins alternatives; on when a term is long enough for
 * the trigram index; for short terms only, on when full-text search has nothing to go on (stop words).
 */
async function textRuleApplies(prisma: Db, language: string, parsed: ParsedQuery): Promise<boolean> {
  if (parsed.hasOr) return false;
  if (parsed.terms.some((term) => [...term].length >= MIN_FRAGMENT_LENGTH)) return true;
  const [row] = await prisma.$queryRaw<{ nodes: number }[]>`
    SELECT numnode(websearch_to_tsquery(${language}::regconfig, ${parsed.text}))::int AS nodes`;
  return row?.nodes === 0;
}

interface SearchSqlInput {
  ownerId: string;
  language: string;
  parsed: ParsedQuery;
  textRule: ParsedQuery | null;
  conversationId: string | null;
  includeArchived: boolean;
  after: SearchPosition | null;
  first: number;
}

function searchSql(input: SearchSqlInput): Prisma.Sql {
  const { ownerId, language, parsed, textRule, conversationId, includeArchived, after, first } = input;
  const tsq = Prisma.sql`websearch_to_tsquery(${language}::regconfig, ${parsed.text})`;
  const scope =
    conversationId !== null
      ? Prisma.sql`AND c.id = ${conversationId}::uuid`
      : includeArchived
        ? Prisma.empty
        : Prisma.sql`AND c."archivedAt" IS NULL`;
  const textOf = (column: Prisma.Sql, vector: Prisma.Sql) =>
    textRule === null ? Prisma.empty : Prisma.sql`OR (${textMatch(column, vector, language, textRule)})`;
  const afterPosition =
    after === null
      ? Prisma.empty
      : Prisma.sql`WHERE (rank, "createdAt", id) < (${after.rank}::float8, ${after.createdAt.toISOString()}::timestamp, ${after.id}::uuid)`;
  const headline = (text: Prisma.Sql) => Prisma.sql`ts_headline(${language}::regconfig,
      translate(${text}, ${HEADLINE_FROM}, ${LESS_THAN}), ${tsq},
      CASE WHEN length(${text}) <= ${SHORT_TEXT} THEN ${WHOLE_TEXT} ELSE ${PASSAGES} END)`;

  return Prisma.sql`
    WITH convs AS (
      SELECT c.id,
             CASE WHEN c."searchVector" @@ ${tsq} THEN ts_rank_cd(c."searchVector", ${tsq}, 1)::float8 ELSE 0 END AS title_rank,
             (c."searchVector" @@ ${tsq} ${textOf(Prisma.sql`c.title`, Prisma.sql`c."searchVector"`)}) AS title_hit
        FROM "Conversation" c
       WHERE c."ownerId" = ${ownerId} ${scope}
    ),
    hits AS (
      SELECT m.id, m."conversationId", m."createdAt", m."searchVector" @@ ${tsq} AS words,
             CASE WHEN m."searchVector" @@ ${tsq} THEN ts_rank_cd(m."searchVector", ${tsq}, 1)::float8 ELSE 0 END
               + cv.title_rank AS rank
        FROM "Message" m
        JOIN convs cv ON cv.id = m."conversationId"
       WHERE m."ownerId" = ${ownerId}
         AND (m."searchVector" @@ ${tsq} ${textOf(Prisma.sql`m.content`, Prisma.sql`m."searchVector"`)})
    ),
    titles AS (
      SELECT f.id, cv.id AS "conversationId", f."createdAt", cv.title_rank AS rank
        FROM convs cv
       CROSS JOIN LATERAL (
             SELECT id, "createdAt" FROM "Message" WHERE "conversationId" = cv.id ORDER BY position LIMIT 1
       ) f
       WHERE cv.title_hit AND NOT EXISTS (SELECT 1 FROM hits h WHERE h."conversationId" = cv.id)
    ),
    ranked AS (
      SELECT id, "conversationId", "createdAt", rank, CASE WHEN words THEN 'WORDS' ELSE 'TEXT' END AS kind FROM hits
      UNION ALL
      SELECT id, "conversationId", "createdAt", rank, 'TITLE' FROM titles
    ),
    page AS (
      SELECT * FROM ranked ${afterPosition}
       ORDER BY rank DESC, "createdAt" DESC, id DESC
       LIMIT ${first + 1}
    )
    SELECT p.id::text AS id, p."conversationId"::text AS "conversationId", p."createdAt", p.rank, p.kind,
           CASE
             WHEN p.kind = 'WORDS' THEN ${headline(Prisma.sql`m.content`)}
             WHEN p.kind = 'TITLE' AND c."searchVector" @@ ${tsq} THEN ${headline(Prisma.sql`c.title`)}
           END AS headline,
           CASE p.kind WHEN 'TEXT' THEN m.content WHEN 'TITLE' THEN c.title END AS plain
      FROM page p
      JOIN "Message" m ON m.id = p.id
      JOIN "Conversation" c ON c.id = p."conversationId"
     ORDER BY p.rank DESC, p."createdAt" DESC, p.id DESC`;
}

/**
 * The text rule for one column: every term occurs (ignoring case), long terms anywhere (trigram index),
 * short ones as whole words; and no excluded word occurs (by full-text, as in the word rule).
 */
function textMatch(
  column: Prisma.Sql,
  vector: Prisma.Sql,
  language: string,
  parsed: ParsedQuery,
): Prisma.Sql {
  const conditions = parsed.terms.map((term) =>
    [...term].length >= MIN_FRAGMENT_LENGTH
      ? Prisma.sql`${column} ILIKE ${`%${term.replace(/[\\%_]/g, "\\$&")}%`}`
      : Prisma.sql`${column} ~* ${`(^|[^[:alnum:]_])${term.replace(/[^\p{L}\p{N}]/gu, "\\$&")}($|[^[:alnum:]_])`}`,
  );
  if (parsed.excluded !== "") {
    conditions.push(
      Prisma.sql`NOT (${vector} @@ websearch_to_tsquery(${language}::regconfig, ${parsed.excluded}))`,
    );
  }
  return Prisma.join(conditions, " AND ");
}
