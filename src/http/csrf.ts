import type { Plugin } from "graphql-yoga";
import { ForbiddenError } from "../core/errors.js";
import { errorResponse } from "./responses.js";

/**
 * Headers that prove a browser sent the request only after a CORS preflight (no browser lets a page set
 * them on a "simple" request): yoga's and Apollo's CSRF headers, the graphql-sse stream token, MCP's
 * session headers, and the Authorization header itself.
 */
export const CSRF_HEADERS = [
  "x-graphql-yoga-csrf",
  "apollo-require-preflight",
  "x-apollo-operation-name",
  "graphql-preflight",
  "x-graphql-event-stream-token",
  "mcp-session-id",
  "mcp-protocol-version",
  "authorization",
];

// Content types a cross-site form or fetch may send without a preflight.
const SIMPLE_CONTENT_TYPES = ["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"];
const SIMPLE_METHODS = ["GET", "HEAD", "POST"];

/**
 * Whether a request could have been forged by another site: a CORS-"simple" request (GET/HEAD/POST, a
 * form-like or no content type, no custom header). Those are refused, since the browser would have sent
 * them with the user's ambient credentials and without asking the server first.
 */
export function isCsrfSuspect(request: Request): boolean {
  if (!SIMPLE_METHODS.includes(request.method.toUpperCase())) return false;
  const contentType = request.headers.get("content-type")?.toLowerCase();
  const preflighted =
    contentType !== undefined && !SIMPLE_CONTENT_TYPES.some((t) => contentType.startsWith(t));
  if (preflighted) return false;
  return !CSRF_HEADERS.some((h) => request.headers.has(h));
}

/**
 * CSRF prevention on every API endpoint (`/graphql`, the graphql-sse endpoint and `/mcp`, which yoga's own
 * CSRF plugin cannot reach because that plugin hooks request parsing): a suspect request is answered
 * `403 FORBIDDEN` before anything runs. GraphiQL's page is served before this hook (yoga answers it first).
 */
export function useCsrfPrevention(paths: string[]): Plugin {
  return {
    onRequest({ request, url, endResponse }) {
      if (request.method === "OPTIONS" || !paths.includes(url.pathname)) return;
      if (!isCsrfSuspect(request)) return;
      endResponse(
        errorResponse(
          new ForbiddenError(
            `Request refused (CSRF prevention): send JSON, or one of these headers: ${CSRF_HEADERS.join(", ")}`,
          ),
        ),
      );
    },
  };
}
