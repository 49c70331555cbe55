import type { ClientError } from "../core/errors.js";

/**
 * A GraphQL-over-HTTP error response built outside yoga's pipeline (transport checks that run before
 * parsing): the status and headers come from the error's `extensions.http`, which stays out of the body.
 */
export function errorResponse(error: ClientError): Response {
  const { http, ...extensions } = error.extensions as {
    http?: { status?: number; headers?: Record<string, string> };
  };
  return new Response(JSON.stringify({ errors: [{ message: error.message, extensions }] }), {
    status: http?.status ?? 400,
    headers: { "content-type": "application/json; charset=utf-8", ...http?.headers },
  });
}
