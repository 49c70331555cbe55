import type { IncomingMessage } from "node:http";
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
 * that are not valid UTF-8, which a lenient decoder would silently turn into U+FFFD and store. `source` is
 * the Node request `request` was made from, when there is one (see {@link nodeRequestOf}), and is then
 * read directly. The fetch `Request`'s stream reads it through Node's async iterator, which at the end
 * leaves its five listeners (and the closures they hold) on the request for as long as the request lives:
 * for a subscription, whose context holds the request, as long as its stream (about 1 KB of each open
 * graphql-sse stream, by the memory bench).
 */
export async function readBodyText(
  request: Request,
  maxBytes: number,
  source?: IncomingMessage,
): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && (!/^\d+$/.test(declared) || Number(declared) > maxBytes)) {
    throw bodyTooLarge(maxBytes);
  }
  if (!request.body) return "";
  return decodeUtf8(source ? await readNodeBody(source, maxBytes) : await readStream(request.body, maxBytes));
}

/** The Node request in a server context (yoga's node adapter puts it there; `yoga.fetch` does not). */
export function nodeRequestOf(serverContext: unknown): IncomingMessage | undefined {
  const req = (serverContext as { req?: Partial<IncomingMessage> } | undefined)?.req;
  // Unread: a body something else has begun to read is not whole any more.
  return typeof req?.on === "function" && req.readableDidRead === false
    ? (req as IncomingMessage)
    : undefined;
}

/** The Node response in a server context (yoga's node adapter puts it there; `yoga.fetch` does not). */
export function nodeResponseOf(serverContext: unknown): NodeJS.EventEmitter | undefined {
  const res = (serverContext as { res?: Partial<NodeJS.EventEmitter> } | undefined)?.res;
  return typeof res?.listeners === "function" ? (res as NodeJS.EventEmitter) : undefined;
}

async function readStream(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Buffer> {
  const reader = body.getReader();
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
  return Buffer.concat(chunks);
}

/** {@link readStream} for a Node request, with every listener it adds removed when it is done. */
function readNodeBody(source: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error: Error | null) => {
      source.off("data", onData).off("end", onEnd).off("error", onError);
      if (error) reject(error);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      settle(bodyTooLarge(maxBytes));
      // The rest is not read here: once the response (413) has been sent, Node reads and drops it.
      source.pause();
    };
    const onEnd = () => settle(null);
    const onError = (error: Error) => settle(error);
    source.on("data", onData).on("end", onEnd).on("error", onError);
  });
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
