import type { SearchPosition } from "../../search/cursor.js";
import { isFragment, type ParsedQuery } from "../../search/query.js";
import { LESS_THAN, MARK_END, MARK_START } from "../../search/snippet.js";
import { Prisma } from "../generated/prisma/client.js";
import { configurationLiteral, ownerMark } from "./language.js";
import type { SearchMatch } from "./search.js";

/** A result as the search query returns it. */
export interface SearchResultRow {
  id: string;
  conversationId: string;
  createdAt: Date;
  rank: number;
  kind: SearchMatch;
  /** ts_headline output, for matches found by full-text search. */
  headline: string | null;
  /** The raw message text or title, for matches of the text rule (the snippet is built by the app). */
  plain: string | null;
  /** Whether the message is on its conversation's active path. */
  onActivePath: boolean;
}

/**
 * A row of the ranked search query: every row carries the number of results in all pages; an empty page is
 * one row with only that number.
 */
export type SearchRow = { total: number } & (SearchResultRow | { [K in keyof SearchResultRow]: null });

/** What one page of a search asks for. */
export interface SearchSqlInput {
  readonly ownerId: string;
  readonly language: string;
  readonly parsed: ParsedQuery;
  /** Whether the text rule applies (see searchPlan in search.ts). */
  readonly textRule: boolean;
  readonly conversationId: string | null;
  readonly includeArchived: boolean;
  /** Only messages on their conversation's active path. */
  readonly activePathOnly: boolean;
  readonly after: SearchPosition | null;
  readonly first: number;
}

// ts_headline shows a short text whole; a longer one as up to two passages of 8 to 24 words around the
// best matches (ShortWord=0: short words at a passage's edges stay).
const SHORT_TEXT = 240;
const WHOLE_TEXT = `StartSel=${MARK_START}, StopSel=${MARK_END}, HighlightAll=true`;
const PASSAGES = `StartSel=${MARK_START}, StopSel=${MARK_END}, MaxFragments=2, MinWords=8, MaxWords=24, ShortWord=0, FragmentDelimiter=" … "`;
// translate(): `<` becomes LESS_THAN, the marks (and LESS_THAN itself) are dropped.
const HEADLINE_FROM = `<${MARK_START}${MARK_END}${LESS_THAN}`;

/** The first message of a conversation `c`'s active path, which stands for it when only its title matches. */
const FIRST_MESSAGE = Prisma.sql`(
             SELECT id, "createdAt" FROM "Message" WHERE "conversationId" = c.id AND "onActivePath"
              ORDER BY depth LIMIT 1
       )`;

/**
 * One page of ranked results, in one statement:
 * - `hits`: messages in scope matching by words (ranked with ts_rank_cd, plus the rank of their
 *   conversation's title when it matches too) or only by the text rule (rank: the title's);
 * - `titles`: a conversation whose title matches but none of whose messages do, as its first message;
 * - the page after the cursor's position (rank, createdAt, id: all descending), one row more than asked
 *   to tell whether another page follows, and snippets for that page only;
 * - the number of results in all pages (cheap: ranking has read them all anyway).
 * The scans of `hits` carry the owner's mark, so the GIN index reads only this user's postings.
 */
export function searchSql(input: SearchSqlInput): Prisma.Sql {
  const {
    ownerId,
    language,
    parsed,
    textRule,
    conversationId,
    includeArchived,
    activePathOnly,
    after,
    first,
  } = input;
  const config = configurationLiteral(language);
  const tsq = Prisma.sql`websearch_to_tsquery(${config}, ${parsed.text})`;
  const mark = ownerMark(ownerId);
  const scope = scopeFilter(conversationId, includeArchived);
  const titleText = textRule
    ? Prisma.sql`OR (${textMatch(Prisma.sql`c`, "title", config, parsed)})`
    : Prisma.empty;
  const messageText = textRule
    ? Prisma.sql`OR (${textMatch(Prisma.sql`m`, "content", config, parsed)})`
    : Prisma.empty;
  const titleRank = Prisma.sql`CASE WHEN c."searchVector" @@ ${tsq} THEN ts_rank_cd(c."searchVector", ${tsq}, 1)::float8 ELSE 0 END`;
  const afterPosition =
    after === null
      ? Prisma.empty
      : Prisma.sql`WHERE (rank, "createdAt", id) < (${after.rank}::float8, ${after.createdAt.toISOString()}::timestamp, ${after.id}::uuid)`;
  const headline = (text: Prisma.Sql) => Prisma.sql`ts_headline(${config},
      translate(${text}, ${HEADLINE_FROM}, ${LESS_THAN}), ${tsq},
      CASE WHEN length(${text}) <= ${SHORT_TEXT} THEN ${WHOLE_TEXT} ELSE ${PASSAGES} END)`;

  return Prisma.sql`
    WITH hits AS (
      SELECT m.id, m."conversationId", m."createdAt", m."searchVector" @@ ${tsq} AS words,
             CASE WHEN m."searchVector" @@ ${tsq} THEN ts_rank_cd(m."searchVector", ${tsq}, 1)::float8 ELSE 0 END
               + ${titleRank} AS rank
        FROM "Message" m
        JOIN "Conversation" c ON c.id = m."conversationId"
        -- The owner's mark narrows the GIN scans to this user's postings, each arm of the OR becoming one
        -- scan of the index. "ownerId" is still checked (as || '' so that the planner does not add a
        -- pointless scan of the ownerId btree: the mark already selected exactly those rows). Replies
        -- still streaming are not indexed (the index's predicate, repeated here so it can be used).
       WHERE (m."ownerId" || '') = ${ownerId} AND m.status <> 'STREAMING' AND m."searchVector" @@ ${mark}
         AND (m."searchVector" @@ ${tsq} ${messageText}) ${scope} ${pathFilter(activePathOnly)}
    ),
    titles AS (
      SELECT f.id, c.id AS "conversationId", f."createdAt", ${titleRank} AS rank
        FROM "Conversation" c
       CROSS JOIN LATERAL ${FIRST_MESSAGE} f
       WHERE c."ownerId" = ${ownerId} ${scope} AND (c."searchVector" @@ ${tsq} ${titleText})
         -- NOT IN over a non-null column: one hashed lookup per conversation.
         AND c.id NOT IN (SELECT "conversationId" FROM hits)
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
    SELECT t.total, p.id::text AS id, p."conversationId"::text AS "conversationId", p."createdAt", p.rank, p.kind,
           CASE
             WHEN p.kind = 'WORDS' THEN ${headline(Prisma.sql`m.content`)}
             WHEN p.kind = 'TITLE' AND c."searchVector" @@ ${tsq} THEN ${headline(Prisma.sql`c.title`)}
           END AS headline,
           CASE p.kind WHEN 'TEXT' THEN m.content WHEN 'TITLE' THEN c.title END AS plain,
           m."onActivePath"
      FROM (SELECT count(*)::int AS total FROM ranked) t
      LEFT JOIN (page p
                 JOIN "Message" m ON m.id = p.id
                 JOIN "Conversation" c ON c.id = p."conversationId") ON true
     ORDER BY p.rank DESC, p."createdAt" DESC, p.id DESC`;
}

/**
 * One page of a search with nothing to rank (its full-text query is empty: only stop words, such as `it`),
 * where every result has rank 0 and the order is newest first. Unlike {@link searchSql} it does not read
 * every match: each branch walks newest first and stops after the page (through the `ownerId, createdAt`
 * index, or the owner's postings in the GIN index when the planner expects few matches), so a common
 * stop word costs a page, not a user's whole history. No total: see {@link unrankedCountSql}.
 */
export function unrankedSql(input: SearchSqlInput): Prisma.Sql {
  const { after, first } = input;
  const before = (row: Prisma.Sql) =>
    after === null
      ? Prisma.empty
      : Prisma.sql`AND (${row}."createdAt", ${row}.id) < (${after.createdAt.toISOString()}::timestamp, ${after.id}::uuid)`;
  const limit = Prisma.sql`ORDER BY "createdAt" DESC, id DESC LIMIT ${first + 1}`;
  return Prisma.sql`
    WITH hits AS (
      SELECT m.id, m."conversationId", m."createdAt", 'TEXT' AS kind ${unrankedHits(input)} ${before(Prisma.sql`m`)}
       ${limit}
    ),
    titles AS (
      SELECT f.id, c.id AS "conversationId", f."createdAt", 'TITLE' AS kind ${unrankedTitles(input)} ${before(Prisma.sql`f`)}
       ${limit}
    ),
    page AS (
      SELECT * FROM hits UNION ALL SELECT * FROM titles
       ${limit}
    )
    SELECT p.id::text AS id, p."conversationId"::text AS "conversationId", p."createdAt", 0::float8 AS rank, p.kind,
           NULL::text AS headline, CASE p.kind WHEN 'TEXT' THEN m.content ELSE c.title END AS plain,
           m."onActivePath"
      FROM page p
      JOIN "Message" m ON m.id = p.id
      JOIN "Conversation" c ON c.id = p."conversationId"
     ORDER BY p."createdAt" DESC, p.id DESC`;
}

/** How many results all pages of {@link unrankedSql} hold: every match read, so only asked when wanted. */
export function unrankedCountSql(input: SearchSqlInput): Prisma.Sql {
  return Prisma.sql`
    SELECT ((SELECT count(*) ${unrankedHits(input)}) + (SELECT count(*) ${unrankedTitles(input)}))::int AS total`;
}

/** The messages {@link unrankedSql} finds: the text rule alone (the full-text query is empty). */
function unrankedHits(input: SearchSqlInput): Prisma.Sql {
  const { ownerId, language, parsed, conversationId, includeArchived, activePathOnly } = input;
  const content = textMatch(Prisma.sql`m`, "content", configurationLiteral(language), parsed);
  // "ownerId" plainly, unlike searchSql: the btree on (ownerId, createdAt) is what walks newest first. The
  // owner's mark only when a fragment lets the trigram index find rare matches; otherwise it would be
  // checked on every row read (a tsvector to detoast) and help nothing.
  const narrow = parsed.terms.some(isFragment)
    ? Prisma.sql`AND m."searchVector" @@ ${ownerMark(ownerId)}`
    : Prisma.empty;
  return Prisma.sql`
        FROM "Message" m
        JOIN "Conversation" c ON c.id = m."conversationId"
       WHERE m."ownerId" = ${ownerId} AND m.status <> 'STREAMING' ${narrow}
         AND ${content} ${scopeFilter(conversationId, includeArchived)} ${pathFilter(activePathOnly)}`;
}

/** The conversations {@link unrankedSql} finds by title alone, as their first message. */
function unrankedTitles(input: SearchSqlInput): Prisma.Sql {
  const { ownerId, language, parsed, conversationId, includeArchived, activePathOnly } = input;
  const config = configurationLiteral(language);
  return Prisma.sql`
        FROM "Conversation" c
       CROSS JOIN LATERAL ${FIRST_MESSAGE} f
       WHERE c."ownerId" = ${ownerId} ${scopeFilter(conversationId, includeArchived)}
         AND ${textMatch(Prisma.sql`c`, "title", config, parsed)}
         AND NOT EXISTS (
               SELECT FROM "Message" m
                WHERE m."conversationId" = c.id AND m.status <> 'STREAMING' ${pathFilter(activePathOnly)}
                  AND ${textMatch(Prisma.sql`m`, "content", config, parsed)})`;
}

/** Which conversations a search reads: one, or all the owner's (archived ones only when asked). */
function scopeFilter(conversationId: string | null, includeArchived: boolean): Prisma.Sql {
  if (conversationId !== null) return Prisma.sql`AND c.id = ${conversationId}::uuid`;
  return includeArchived ? Prisma.empty : Prisma.sql`AND c."archivedAt" IS NULL`;
}

/** Only messages `m` on their conversation's active path, when asked. */
function pathFilter(activePathOnly: boolean): Prisma.Sql {
  return activePathOnly ? Prisma.sql`AND m."onActivePath"` : Prisma.empty;
}

/**
 * The collation the text rule compares under, whatever the database's: under C, ILIKE would not fold `Ü`
 * and `[:alnum:]` would not hold `ü` (so `ber` would match inside `über` as a whole word). Fragments
 * compare lower-cased text, the expression the trigram index is built on (see language.ts).
 */
const ICU = Prisma.raw(`"und-x-icu"`);

/**
 * The text rule on one column of `row`: every term occurs, ignoring case (fragments anywhere, through the
 * trigram index, other terms as whole words, both under {@link ICU}), and no excluded word occurs (by full-text, as in the word
 * rule).
 */
function textMatch(
  row: Prisma.Sql,
  field: "title" | "content",
  config: Prisma.Sql,
  parsed: ParsedQuery,
): Prisma.Sql {
  const text = Prisma.sql`${row}.${Prisma.raw(`"${field}"`)}`;
  // A message's text is stored lower-cased under ICU ("searchText", read through the trigram index's own
  // expression so the index serves it, see language.ts); a title is lower-cased here.
  const folded =
    field === "content" ? Prisma.sql`(${row}."searchText" || '')` : Prisma.sql`lower(${text} COLLATE ${ICU})`;
  const conditions = parsed.terms.map((term) =>
    isFragment(term)
      ? Prisma.sql`${folded} LIKE lower(${`%${term.replace(/[\\%_]/g, "\\$&")}%`}::text COLLATE ${ICU})`
      : Prisma.sql`${text} COLLATE ${ICU} ~* ${`(^|[^[:alnum:]_])${term.replace(/[^\p{L}\p{N}]/gu, "\\$&")}($|[^[:alnum:]_])`}`,
  );
  if (parsed.excluded !== "") {
    conditions.push(
      Prisma.sql`NOT (${row}."searchVector" @@ websearch_to_tsquery(${config}, ${parsed.excluded}))`,
    );
  }
  return Prisma.join(conditions, " AND ");
}
