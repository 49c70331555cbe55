import type { Plugin } from "graphql-yoga";
import { ClientError } from "../core/errors.js";
import { isMultipart } from "./multipart.js";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The error for a body over the limit: `BAD_USER_INPUT` with HTTP 413. */
function bodyTooLarge(maxBytes: number): ClientError {
  return new ClientError(
    "BAD_USER_INPUT",
    `Request body is larger than ${maxBytes} bytes`,
    {},
    { status: 413 },
  );
}

/**
 * Reads a request body as UTF-8 text, refusing (before reading it all) a body over `maxBytes` and bytes
 * that are not valid UTF-8, which a lenient decoder would silently turn into U+FFFD and store.
 */
export async function readBodyText(request: Request, maxBytes: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && (!/^\d+$/.test(declared) || Number(declared) > maxBytes)) {
    throw bodyTooLarge(maxBytes);
  }
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw bodyTooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return decodeUtf8(Buffer.concat(chunks));
}

/** Strict UTF-8 decoding; `BAD_USER_INPUT` for invalid bytes. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new ClientError("BAD_USER_INPUT", "Request body is not valid UTF-8", {}, { status: 400 });
  }
}

/** Refuses a query string whose percent-escapes are not valid UTF-8 (GET requests). */
export function checkQueryString(url: URL): void {
  try {
    decodeURIComponent(url.search.replace(/\+/g, " "));
  } catch {
    throw new ClientError("BAD_USER_INPUT", "Query string is not valid UTF-8", {}, { status: 400 });
  }
}

/**
 * On `/graphql`: reads bodies strictly ({@link readBodyText}) before yoga's own parser sees them, and checks
 * GET query strings. yoga's `maxRequestBodySize` stays on as a second guard.
 */
export function useStrictBodies(maxBytes: number): Plugin {
  return {
    onRequestParse({ request, url, requestParser, setRequestParser, fetchAPI }) {
      if (request.method === "GET") checkQueryString(url);
      // Uploads have their own parser and limits (see multipart.ts).
      if (!requestParser || isMultipart(request)) return;
      const parse = requestParser;
      setRequestParser(async (req) => {
        const strict = req.body
          ? new fetchAPI.Request(req.url, {
              method: req.method,
              headers: req.headers,
              body: await readBodyText(req, maxBytes),
            })
          : req;
        return clientSyntax(() => parse(strict));
      });
    },
  };
}

/**
 * yoga's parsers read `variables` and `extensions` of a query string or form with a bare `JSON.parse`, whose
 * SyntaxError would be masked as a server fault: what they parse is the client's, so its syntax is too.
 */
async function clientSyntax<T>(parse: () => T | Promise<T>): Promise<T> {
  try {
    return await parse();
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new ClientError(
      "BAD_USER_INPUT",
      `Malformed request parameters: ${error.message}`,
      {},
      { status: 400 },
    );
  }
}
