import type { Db } from "./client.js";

// Per-user authorizations of tool servers that need the user's own account, and this backend's OAuth client
// registrations at their authorization servers. Secrets arrive sealed (see agent/tools/mcp/sealed.ts).

/** A user's sealed tokens for a server, or null when they have not authorized it. */
export async function findToolServerTokens(db: Db, ownerId: string, server: string): Promise<string | null> {
  const row = await db.toolServerAuth.findUnique({
    where: { ownerId_server: { ownerId, server } },
    select: { tokens: true },
  });
  return row?.tokens ?? null;
}

/** The servers among `servers` the user has authorized. */
export async function authorizedToolServers(
  db: Db,
  ownerId: string,
  servers: string[],
): Promise<Set<string>> {
  if (servers.length === 0) return new Set();
  const rows = await db.toolServerAuth.findMany({
    where: { ownerId, server: { in: servers }, tokens: { not: null } },
    select: { server: true },
  });
  return new Set(rows.map((r) => r.server));
}

/** Stores a user's sealed tokens and ends the authorization in progress. */
export async function saveToolServerTokens(db: Db, ownerId: string, server: string, tokens: string) {
  await db.toolServerAuth.upsert({
    where: { ownerId_server: { ownerId, server } },
    create: { ownerId, server, tokens },
    update: { tokens, state: null, codeVerifier: null },
  });
}

/** Starts (or restarts) an authorization: its `state` names the user and the server at the callback. */
export async function startToolServerAuthorization(db: Db, ownerId: string, server: string, state: string) {
  await db.toolServerAuth.upsert({
    where: { ownerId_server: { ownerId, server } },
    create: { ownerId, server, state },
    update: { state, codeVerifier: null },
  });
}

/** Stores the sealed PKCE verifier of the authorization in progress. */
export async function saveToolServerVerifier(db: Db, ownerId: string, server: string, codeVerifier: string) {
  await db.toolServerAuth.updateMany({ where: { ownerId, server }, data: { codeVerifier } });
}

/** The sealed PKCE verifier of the authorization in progress, if any. */
export async function findToolServerVerifier(
  db: Db,
  ownerId: string,
  server: string,
): Promise<string | null> {
  const row = await db.toolServerAuth.findUnique({
    where: { ownerId_server: { ownerId, server } },
    select: { codeVerifier: true },
  });
  return row?.codeVerifier ?? null;
}

/** The user and server of an authorization in progress, by its `state`. */
export function findToolServerAuthorization(db: Db, state: string) {
  return db.toolServerAuth.findUnique({ where: { state }, select: { ownerId: true, server: true } });
}

/** Forgets a user's authorization of a server (tokens and any authorization in progress). */
export async function deleteToolServerAuth(db: Db, ownerId: string, server: string): Promise<boolean> {
  const { count } = await db.toolServerAuth.deleteMany({ where: { ownerId, server } });
  return count > 0;
}

/** This backend's sealed client registration at a server's authorization server, if any. */
export async function findToolServerClient(db: Db, server: string): Promise<string | null> {
  const row = await db.toolServerClient.findUnique({ where: { server }, select: { information: true } });
  return row?.information ?? null;
}

/** Stores the sealed client registration. */
export async function saveToolServerClient(db: Db, server: string, information: string): Promise<void> {
  await db.toolServerClient.upsert({
    where: { server },
    create: { server, information },
    update: { information },
  });
}
