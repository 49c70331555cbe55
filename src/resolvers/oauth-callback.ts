import { completeAuthorization } from "../agent/runs/approvals.js";
import type { RunManager } from "../agent/runs/run-manager.js";
import type { Db } from "../db/client.js";
import type { Logger } from "../observability/logger.js";

const page = (title: string, text: string, status: number) =>
  new Response(`<!doctype html><meta charset="utf-8"><title>${title}</title><p>${text}</p>`, {
    status,
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
  });

/**
 * `GET /oauth/callback?code=&state=`: where an authorization server sends the user's browser back. The
 * `state` (random, stored when the authorization started) names the user and the tool server; the code is
 * exchanged (with the PKCE verifier) for tokens, stored encrypted, and the calls that waited for it run.
 */
export async function oauthCallback(
  deps: { prisma: Db; runs: RunManager; logger: Logger },
  url: URL,
): Promise<Response> {
  const state = url.searchParams.get("state");
  const code = url.searchParams.get("code");
  const error = url.searchParams.get("error");
  if (error) return page("Not connected", "The authorization was refused; you can close this window.", 400);
  if (!state || !code) return page("Bad request", "The callback needs `code` and `state`.", 400);
  try {
    const server = await completeAuthorization(deps.prisma, deps.runs, state, code);
    if (!server) return page("Expired", "This authorization is unknown or was already used.", 400);
    return page(
      "Connected",
      `The tool server "${server.replace(/[<>&"]/g, "")}" is connected; you can close this window.`,
      200,
    );
  } catch (failure) {
    deps.logger.warn({ err: failure }, "could not complete a tool server authorization");
    return page("Not connected", "The authorization could not be completed; try again.", 502);
  }
}
