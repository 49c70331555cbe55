import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";

/**
 * The `_meta` key of a `tools/call` request that names the user the call acts for: `{ id: string }`, the
 * JWT `sub` of the user whose message the agent is answering. Every tool server receives it.
 */
export const USER_META_KEY = "chat-backend/user";

/** The `_meta` of a tool call made for `userId`. */
export function userMeta(userId: string): Record<string, unknown> {
  return { [USER_META_KEY]: { id: userId } };
}

/** The user a request's `_meta` names, if any. */
export function userFromMeta(meta: Record<string, unknown> | undefined): string | undefined {
  const user = meta?.[USER_META_KEY];
  if (typeof user !== "object" || user === null) return undefined;
  const id = (user as { id?: unknown }).id;
  return typeof id === "string" && id !== "" ? id : undefined;
}

/**
 * A fetch for Streamable HTTP tool servers that sets `header` to the user the message being POSTed acts
 * for, read from that same message's `_meta`. Calls of different users share one connection, so the
 * header is decided per request, never per connection; requests made for no user (initialize, tools/list,
 * pings) carry no such header, whatever the static configuration says.
 */
export function fetchWithUserHeader(header: string, base: FetchLike = fetch): FetchLike {
  return (url, init) => {
    const headers = new Headers(init?.headers);
    headers.delete(header);
    const userId = typeof init?.body === "string" ? userOfMessage(init.body) : undefined;
    if (userId !== undefined) headers.set(header, userId);
    return base(url, { ...init, headers });
  };
}

function userOfMessage(body: string): string | undefined {
  try {
    const message = JSON.parse(body) as { params?: { _meta?: Record<string, unknown> } };
    return userFromMeta(message?.params?._meta);
  } catch {
    return undefined;
  }
}
