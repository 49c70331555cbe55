import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";

/** Where the data lives: a PostgreSQL URL, or a folder for the embedded PGlite database. */
export type DatabaseTarget =
  | { kind: "postgres"; url: string; poolSize?: number }
  | { kind: "pglite"; dataDir: string | null };

/** A driver adapter factory plus the means to release what it holds. */
export interface Database {
  readonly target: DatabaseTarget;
  /** The application's: on PostgreSQL every adapter it connects shares one pool. */
  readonly factory: SqlMigrationAwareDriverAdapterFactory;
  /**
   * The schema engine's: on PostgreSQL each adapter it connects is a pool of its own, ended when the adapter
   * is disposed, so the session that took Prisma Migrate's advisory lock ends with the engine, and the lock
   * with it.
   */
  readonly sessions: SqlMigrationAwareDriverAdapterFactory;
  close(): Promise<void>;
}

/**
 * Memory for each sort and hash of a statement, and for merging a GIN index's pending list when an insert
 * finds it full. Finished messages' words and trigrams wait in the search index's pending list (16 MB, see
 * the search_pending_list migration) until one insert merges them into the index, in as many passes as the
 * merge's memory needs, each pass writing every key it holds. Under PostgreSQL's default `work_mem` (4 MB)
 * even a list of 4 MB took two passes; 16 MB takes the whole list in one (BENCHMARKS.md, "Sixteenth
 * session"). Only raised: a larger setting in the database URL or the server's configuration is kept.
 */
const WORK_MEM = "16MB";
const raiseWorkMem = `SELECT set_config('work_mem', '${WORK_MEM}', false)
                       WHERE pg_size_bytes(current_setting('work_mem')) < pg_size_bytes('${WORK_MEM}')`;

// PGlite ships contrib extensions but can only `CREATE EXTENSION` the ones loaded when it starts: search's
// trigram index needs pg_trgm (see the search migration).
const pgliteExtensions = { pg_trgm };
// PostgreSQL's default 128 MB of shared buffers is allocated and zeroed inside the WASM heap at every start:
// half a second of CPU and 130 MB of resident memory that an embedded, single-session database does not
// need (its files are read through the operating system's page cache anyway).
const pgliteStartParams = [
  ...PGlite.defaultStartParams,
  "-c",
  "shared_buffers=16MB",
  "-c",
  `work_mem=${WORK_MEM}`,
];

/** Distinct statements given a name; the rest (rare shapes, e.g. long `IN` lists) run unnamed (""). */
const NAMED_STATEMENTS = 500;

/**
 * Names for prepared statements, one per distinct SQL text. `pg` then parses a statement once per
 * connection and PostgreSQL keeps its plan, instead of parsing, analysing and planning every query again:
 * the send, history and end statements of every reply are the same few texts. Bounded, because each name
 * holds a prepared statement in every pooled connection for the connection's life.
 */
function statementNames(): (query: { sql: string }) => string {
  const names = new Map<string, string>();
  return ({ sql }) => {
    const known = names.get(sql);
    if (known !== undefined) return known;
    if (names.size >= NAMED_STATEMENTS) return "";
    const name = `s${names.size}`;
    names.set(sql, name);
    return name;
  };
}

/**
 * Opens the database a target names. PostgreSQL goes through a `pg` pool; PGlite opens (or creates) its
 * data folder, or lives in memory when `dataDir` is null (tests).
 */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if (target.kind === "postgres") {
    // A bounded connect: while PostgreSQL is away, requests and the readiness check fail instead of hanging.
    // Idle connections are kept for minutes, not pg's default 10 s: under bursty load the pool otherwise
    // closed and reopened connections all the time (26 new backends in a minute of the compare bench), and
    // each new one costs PostgreSQL a process, its catalog caches and every prepared statement again.
    // One pool for every adapter the factory connects: Prisma's client's and the reply statements' own
    // (see direct-sql.ts); it ends with the database, not with either of them.
    const config = {
      connectionString: target.url,
      max: target.poolSize ?? 10,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 300_000,
    };
    // Awaited before the connection serves its first statement; a failure is that connection's failure.
    const pool = new pg.Pool({ ...config, onConnect: (client) => client.query(raiseWorkMem) });
    // An idle connection that PostgreSQL ends (a restart, an administrator, the database dropped) is an
    // `error` event of the pool, which throws when nobody listens: the adapters listen only while they are
    // connected, and `end()` resolves before the connections it closes are gone. The pool has already
    // dropped the connection; the next statement opens another, and fails where it is made if it cannot.
    pool.on("error", () => {});
    const factory = new PrismaPg(pool, { statementNameGenerator: statementNames() });
    return { target, factory, sessions: new PrismaPg(config), close: () => pool.end() };
  }
  if (target.dataDir !== null) mkdirSync(target.dataDir, { recursive: true });
  const pglite = new PGlite({
    dataDir: target.dataDir ?? undefined,
    extensions: pgliteExtensions,
    startParams: pgliteStartParams,
  });
  await pglite.waitReady;
  const factory = new PrismaPGlite(pglite);
  return { target, factory, sessions: factory, close: () => pglite.close() };
}
