import path from "node:path";
import { defineConfig } from "prisma/config";

// The datasource URL only matters to CLI commands that talk to a database; the server builds its own
// connection in src/db. A placeholder keeps `prisma generate` working with no database configured.
export default defineConfig({
  schema: path.join("prisma", "schema.prisma"),
  migrations: { path: path.join("prisma", "migrations") },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost:5432/unused" },
});
