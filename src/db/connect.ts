import type { Config } from "../core/config.js";
import { type DatabaseTarget, openDatabase } from "./adapter.js";
import { createPrismaClient, type Db } from "./client.js";
import { applyPendingMigrations } from "./migrations.js";

/** An open database with its Prisma client; `close` releases both. */
export interface Connection {
  readonly prisma: Db;
  readonly target: DatabaseTarget;
  /** Names of the migrations applied while connecting. */
  readonly applied: string[];
  /** How long opening the database and applying migrations took, for the start-up log. */
  readonly timings: { openMs: number; migrateMs: number };
  close(): Promise<void>;
}

/** The database a configuration names: PostgreSQL when `DATABASE_URL` is set, else PGlite under `DATA_DIR`. */
export function targetFromConfig(database: Config["database"]): DatabaseTarget {
  return database.url
    ? { kind: "postgres", url: database.url, poolSize: database.poolSize }
    : { kind: "pglite", dataDir: database.dataDir };
}

/** Opens the database, applies pending migrations unless told not to, and makes the Prisma client. */
export async function connect(target: DatabaseTarget, options: { migrate: boolean }): Promise<Connection> {
  const started = performance.now();
  const database = await openDatabase(target);
  const opened = performance.now();
  try {
    const applied = options.migrate ? await applyPendingMigrations(database) : [];
    const prisma = createPrismaClient(database);
    return {
      prisma,
      target,
      applied,
      timings: { openMs: Math.round(opened - started), migrateMs: Math.round(performance.now() - opened) },
      close: async () => {
        await prisma.$disconnect();
        await database.close();
      },
    };
  } catch (error) {
    await database.close();
    throw error;
  }
}
