import type { Plugin } from "graphql-yoga";
import { ClientError } from "../core/errors.js";

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
  return decodeUtf8(await readBodyBytes(request, maxBytes));
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
 * Reads a request body's bytes, refusing (before reading it all) a body over `maxBytes`. Multipart uploads
 * are kept as bytes: their files need not be text.
 */
async function readBodyBytes(request: Request, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const declared = request.headers.get("content-length");
  if (declared !== null && (!/^\d+$/.test(declared) || Number(declared) > maxBytes)) {
    throw bodyTooLarge(maxBytes);
  }
  if (!request.body) return new Uint8Array();
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
  return Buffer.concat(chunks) as Uint8Array<ArrayBuffer>;
}

/**
 * On `/graphql`: reads bodies strictly ({@link readBodyText}) before yoga's own parser sees them, and checks
 * GET query strings. A multipart request (a file upload) is held to `maxUploadBytes` instead and kept as
 * bytes (its operation and map parts are still parsed strictly by yoga). yoga's `maxRequestBodySize` stays
 * on as a second guard.
 */
export function useStrictBodies(maxBytes: number, maxUploadBytes = maxBytes): Plugin {
  return {
    onRequestParse({ request, url, requestParser, setRequestParser, fetchAPI }) {
      if (request.method === "GET") checkQueryString(url);
      if (!requestParser) return;
      const parse = requestParser;
      setRequestParser(async (req) => {
        const multipart = req.headers.get("content-type")?.toLowerCase().startsWith("multipart/form-data");
        const strict = req.body
          ? new fetchAPI.Request(req.url, {
              method: req.method,
              headers: req.headers,
              body: multipart ? await readBodyBytes(req, maxUploadBytes) : await readBodyText(req, maxBytes),
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
