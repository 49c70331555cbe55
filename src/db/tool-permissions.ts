import type { Db } from "./client.js";
import type { Prisma, ToolPermission } from "./generated/prisma/client.js";

/** What a standing permission names: a tool of a server, in one conversation or (null) all of them. */
export interface ToolPermissionKey {
  ownerId: string;
  server: string;
  tool: string;
  conversationId: string | null;
}

/** The owner's standing permissions that hold in `conversationId`: its own and the `ALWAYS` ones. */
export function standingPermissions(db: Db, ownerId: string, conversationId: string) {
  return db.toolPermission.findMany({
    where: { ownerId, OR: [{ conversationId: null }, { conversationId }] },
    select: { server: true, tool: true },
  });
}

/** Grants a standing permission unless an equal one exists (one statement); returns nothing. */
export async function grantToolPermission(db: Db, key: ToolPermissionKey): Promise<void> {
  await db.$executeRaw`
    INSERT INTO "ToolPermission" (id, "ownerId", server, tool, "conversationId")
    SELECT gen_random_uuid(), ${key.ownerId}, ${key.server}, ${key.tool}, ${key.conversationId}::uuid
     WHERE NOT EXISTS (
       SELECT FROM "ToolPermission"
        WHERE "ownerId" = ${key.ownerId} AND server = ${key.server} AND tool = ${key.tool}
          AND "conversationId" IS NOT DISTINCT FROM ${key.conversationId}::uuid)`;
}

/** The owner's standing permissions, newest first, with Pothos's selection. */
export function listToolPermissions(
  db: Db,
  ownerId: string,
  query: { include?: Prisma.ToolPermissionInclude; select?: Prisma.ToolPermissionSelect },
): Promise<ToolPermission[]> {
  return db.toolPermission.findMany({
    ...query,
    where: { ownerId },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
  });
}

/** Revokes one of the owner's standing permissions; false when it is not theirs (or gone). */
export async function revokeToolPermission(db: Db, ownerId: string, id: string): Promise<boolean> {
  const { count } = await db.toolPermission.deleteMany({ where: { id, ownerId } });
  return count > 0;
}
