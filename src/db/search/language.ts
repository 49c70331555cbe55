import type { Db } from "../client.js";
import { Prisma } from "../generated/prisma/client.js";

// The search vectors are STORED generated columns whose expression names the text-search configuration.
// Their first definition is hand-written in the migrations that added them (Prisma cannot express
// generated columns, nor the expression the trigram index is built on); when SEARCH_LANGUAGE names another configuration they are rebuilt here with the
// same statements. Reading the configuration back from the database keeps queries in step with the
// vectors whoever calls the search.

/** The generated search columns: table, generation expression, and the GIN index that serves them. */
const VECTORS = [
  {
    table: "Conversation",
    index: "Conversation_searchVector_idx",
    columns: `"searchVector"`,
    storage: "",
    predicate: "",
    // Titles weigh most (A): a title match ranks above the same word in a message.
    expression: (language: string) => `setweight(to_tsvector('${language}'::regconfig, "title"), 'A')`,
  },
  {
    table: "Message",
    index: "Message_searchVector_text_idx",
    // A reply is indexed once, when it stops streaming: no vector (and, with the partial index, no GIN
    // entries) for text that is rewritten every flush. The owner's mark (see ownerMark) rides along so
    // the index can narrow to one user's messages. md5 and array_to_tsvector are immutable, as a
    // generated column requires.
    expression: (language: string) =>
      `CASE WHEN "status" = 'STREAMING' THEN NULL ELSE to_tsvector('${language}'::regconfig, "content") || array_to_tsvector(ARRAY[md5("ownerId")]) END`,
    // The text as the search's fragment rule compares it (textMatch in sql.ts): lower-cased under ICU, in
    // the generated column "searchText", NULL while streaming (so that flushes are HOT updates). Read
    // through an expression that changes no value, which Prisma leaves alone (see the hot_flushes migration).
    columns: `"searchVector", ("searchText" || '') gin_trgm_ops`,
    // Finished messages wait in the pending list until 16 MB of them are merged at once (see the
    // search_pending_list migration).
    storage: " WITH (gin_pending_list_limit = 16384)",
    predicate: ` WHERE (status <> 'STREAMING')`,
  },
] as const;

/**
 * A tsquery matching the mark every message's search vector carries for its owner (md5 of the owner id,
 * one lexeme). ANDed with a query it lets the GIN index read only that user's postings. Another text
 * could hold the same lexeme, so callers still filter on "ownerId": the mark narrows, it does not decide.
 */
export function ownerMark(ownerId: string): Prisma.Sql {
  return Prisma.sql`md5(${ownerId})::tsquery`;
}

const CONFIGURATION_NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * A text-search configuration as an SQL literal (`'english'::regconfig`). Written into the statement rather
 * than sent as a parameter: a search names it a dozen times, and it is a checked identifier, never input.
 */
export function configurationLiteral(language: string): Prisma.Sql {
  if (!CONFIGURATION_NAME.test(language)) throw new Error(`Invalid text-search configuration "${language}"`);
  return Prisma.raw(`'${language}'::regconfig`);
}

/**
 * The statements that (re)create both search columns and their indexes for a text-search configuration:
 * the same SQL as the hand-written part of the migration that introduced them, for `english`.
 */
export function searchVectorStatements(language: string): string[] {
  if (!CONFIGURATION_NAME.test(language)) throw new Error(`Invalid text-search configuration "${language}"`);
  return VECTORS.flatMap(({ table, index, expression, columns, storage, predicate }) => [
    `ALTER TABLE "${table}" DROP COLUMN "searchVector"`,
    `ALTER TABLE "${table}" ADD COLUMN "searchVector" tsvector GENERATED ALWAYS AS (${expression(language)}) STORED`,
    `CREATE INDEX "${index}" ON "${table}" USING GIN (${columns})${storage}${predicate}`,
  ]);
}

type Queryable = Pick<Db, "$queryRawUnsafe">;

/**
 * The text-search configuration both search columns are generated with, or null when they are not
 * generated columns of one configuration (never migrated, or left half-rebuilt by hand).
 */
export async function readSearchLanguage(db: Queryable): Promise<string | null> {
  const rows = await db.$queryRawUnsafe<{ expr: string | null }[]>(
    `SELECT pg_get_expr(d.adbin, d.adrelid) AS expr
       FROM pg_attribute a
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.attgenerated = 's'
      WHERE a.attrelid IN ('"Conversation"'::regclass, '"Message"'::regclass)
        AND a.attname = 'searchVector' AND NOT a.attisdropped`,
  );
  const languages = new Set(rows.map((row) => /to_tsvector\('([^']+)'::regconfig/.exec(row.expr ?? "")?.[1]));
  const [language] = languages;
  return rows.length === VECTORS.length && languages.size === 1 && language !== undefined ? language : null;
}

const cache = new WeakMap<object, Promise<string>>();

/**
 * The configuration queries must use: the one the vectors were built with, read once per client. Fails
 * when the columns are not set up (migrations not applied).
 */
export function searchLanguage(prisma: Db): Promise<string> {
  let language = cache.get(prisma);
  if (language === undefined) {
    language = readSearchLanguage(prisma).then((found) => {
      if (found === null)
        throw new Error("Search columns are missing: apply the migrations (npm run db:migrate)");
      return found;
    });
    language.catch(() => cache.delete(prisma));
    cache.set(prisma, language);
  }
  return language;
}

/** What {@link ensureSearchLanguage} found and did. */
export interface SearchLanguageChange {
  readonly from: string | null;
  readonly to: string;
  readonly rebuilt: boolean;
}

/**
 * Makes the search columns use `language`. With `rebuild`, columns built for another configuration are
 * rebuilt in one transaction (which rewrites both tables: plan it like a migration); without, a
 * mismatch is an error naming the fix. Unknown configurations are refused before anything changes.
 */
export async function ensureSearchLanguage(
  prisma: Db,
  language: string,
  options: { rebuild: boolean },
): Promise<SearchLanguageChange> {
  const current = await readSearchLanguage(prisma);
  if (current === language) {
    cache.set(prisma, Promise.resolve(language));
    return { from: current, to: language, rebuilt: false };
  }
  const known = await prisma.$queryRawUnsafe<{ cfgname: string }[]>(
    "SELECT cfgname FROM pg_ts_config ORDER BY cfgname",
  );
  const names = known.map((row) => row.cfgname);
  if (!names.includes(language)) {
    throw new Error(
      `SEARCH_LANGUAGE "${language}" is not a text-search configuration here: use one of ${names.join(", ")}`,
    );
  }
  if (!options.rebuild) {
    throw new Error(
      `SEARCH_LANGUAGE is "${language}" but the search columns use "${current ?? "none"}": run npm run db:migrate to rebuild them`,
    );
  }
  const rebuilt = await prisma.$transaction(
    async (tx) => {
      // Another process may be rebuilding too: wait for it, then look again.
      await tx.$executeRawUnsafe('LOCK TABLE "Conversation", "Message" IN ACCESS EXCLUSIVE MODE');
      if ((await readSearchLanguage(tx)) === language) return false;
      for (const statement of searchVectorStatements(language)) await tx.$executeRawUnsafe(statement);
      return true;
    },
    // Rebuilding rewrites every message: allow it the time a large table needs.
    { maxWait: 60_000, timeout: 6 * 60 * 60_000 },
  );
  cache.set(prisma, Promise.resolve(language));
  return { from: current, to: language, rebuilt };
}
