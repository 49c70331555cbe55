// Migrations without Prisma's native engine (see src/db/schema-engine.ts):
//   tsx scripts/migrate.ts deploy          apply pending migrations to DATABASE_URL, else PGlite in DATA_DIR
//   tsx scripts/migrate.ts create <name>   write the next migration from the diff to prisma/schema.prisma
import path from "node:path";
import { ConfigError, loadConfig } from "../src/core/config.js";
import { type DatabaseTarget, openDatabase } from "../src/db/adapter.js";
import { createPrismaClient } from "../src/db/client.js";
import { applyPendingMigrations, createMigration, projectPaths } from "../src/db/migrations.js";
import { ensureSearchLanguage } from "../src/db/search/language.js";

const usage = "usage: tsx scripts/migrate.ts deploy | create <name>";

async function deploy(): Promise<void> {
  const { database, search } = loadConfig();
  const target: DatabaseTarget = database.url
    ? { kind: "postgres", url: database.url, poolSize: database.poolSize }
    : { kind: "pglite", dataDir: database.dataDir };
  const where = target.kind === "postgres" ? "PostgreSQL" : `PGlite in ${database.dataDir}`;
  const db = await openDatabase(target);
  try {
    const applied = await applyPendingMigrations(db);
    console.log(
      applied.length === 0
        ? `No pending migrations (${where}).`
        : `Applied ${applied.length} migration(s) to ${where}: ${applied.join(", ")}`,
    );
    const prisma = createPrismaClient(db);
    try {
      const change = await ensureSearchLanguage(prisma, search.language, { rebuild: true });
      if (change.rebuilt)
        console.log(`Rebuilt the search columns: ${change.from ?? "none"} -> ${change.to}.`);
    } finally {
      await prisma.$disconnect();
    }
  } finally {
    await db.close();
  }
}

async function create(name: string): Promise<void> {
  const created = await createMigration(name);
  console.log(
    created
      ? `Created ${path.relative(projectPaths.root, created.file)}`
      : "No changes: the migrations already match prisma/schema.prisma; nothing created.",
  );
}

async function main(args: string[]): Promise<number> {
  const [command, name, ...rest] = args;
  if (command === "deploy" && name === undefined) await deploy();
  else if (command === "create" && name !== undefined && rest.length === 0) await create(name);
  else {
    console.error(usage);
    return 64; // EX_USAGE
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exitCode = 78; // EX_CONFIG
      return;
    }
    console.error(`Migration failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
