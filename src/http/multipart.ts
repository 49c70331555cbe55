import { randomUUID } from "node:crypto";
import { createWriteStream, openAsBlob } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Busboy } from "@fastify/busboy";
import type { GraphQLParams, Plugin } from "graphql-yoga";
import { ClientError } from "../core/errors.js";

/** Limits of one multipart request (the GraphQL multipart request spec). */
export interface MultipartLimits {
  /** The largest file; a bigger one refuses the whole request with 413 before anything is stored. */
  maxFileBytes: number;
  maxFiles: number;
  /** The largest `operations` or `map` field (the JSON body limit). */
  maxFieldBytes: number;
}

/** Whether a request is a multipart form post (file uploads). */
export function isMultipart(request: Request): boolean {
  return (
    request.method === "POST" &&
    (request.headers.get("content-type") ?? "").toLowerCase().startsWith("multipart/form-data")
  );
}

/** The whole body a multipart request may have: its files and its fields, with room for the framing. */
export function multipartBodyLimit(limits: MultipartLimits): number {
  return limits.maxFiles * limits.maxFileBytes + 2 * limits.maxFieldBytes + 64 * 1024;
}

/**
 * Uploads by the GraphQL multipart request spec, streamed rather than buffered: yoga's own parser reads
 * every file into memory, so this one spools each file to a temporary file as it arrives and hands the
 * resolver a `File` backed by it (`fs.openAsBlob`), whose `stream()` reads the disk. Temporary files are
 * removed when the response is sent. CSRF prevention still applies: multipart is a form content type, so
 * clients send one of its headers (e.g. `apollo-require-preflight: true`).
 */
export function useMultipartUploads(limits: MultipartLimits): Plugin {
  const spooled = new WeakMap<Request, string[]>();
  return {
    onRequestParse({ request, setRequestParser }) {
      if (!isMultipart(request)) return;
      const files: string[] = [];
      spooled.set(request, files);
      setRequestParser((req) => parseMultipart(req, limits, files));
    },
    onResponse({ request }) {
      const files = spooled.get(request);
      if (!files) return;
      spooled.delete(request);
      return Promise.all(files.map((f) => rm(f, { force: true }))).then(() => {});
    },
  };
}

function refused(message: string, status = 400): ClientError {
  return new ClientError("BAD_USER_INPUT", message, {}, { status });
}

async function parseMultipart(
  request: Request,
  limits: MultipartLimits,
  spooled: string[],
): Promise<GraphQLParams | GraphQLParams[]> {
  if (!request.body) throw refused("Multipart request without a body");
  const fields = new Map<string, string>();
  const uploads = new Map<string, Promise<File>>();
  const busboy = Busboy({
    headers: { "content-type": request.headers.get("content-type") ?? "" },
    limits: {
      fieldSize: limits.maxFieldBytes,
      fields: 2,
      files: limits.maxFiles,
      fileSize: limits.maxFileBytes,
      parts: limits.maxFiles + 2,
    },
  });
  let failure: ClientError | undefined;
  const fail = (error: ClientError) => {
    failure ??= error;
    busboy.destroy();
  };
  busboy.on("field", (name, value, _nameTruncated, valueTruncated) => {
    if (valueTruncated)
      fail(refused(`Multipart field "${name}" is larger than ${limits.maxFieldBytes} bytes`, 413));
    else fields.set(name, value);
  });
  busboy.on("file", (name, stream, filename, _encoding, mimeType) => {
    // The spec puts `operations` and `map` first: a file before them has nowhere to go.
    if (!fields.has("map") || uploads.has(name)) {
      stream.resume();
      return fail(refused(`Multipart file "${name}" arrived before "map" or twice`));
    }
    const file = path.join(tmpdir(), `chat-upload-${randomUUID()}`);
    spooled.push(file);
    stream.on("limit", () =>
      fail(refused(`File "${filename}" is larger than ${limits.maxFileBytes} bytes`, 413)),
    );
    const written = pipeline(stream, createWriteStream(file)).then(async () => {
      const blob = await openAsBlob(file, { type: mimeType });
      return new File([blob], filename, { type: mimeType });
    });
    written.catch(() => {}); // reported through `failure`, or awaited below
    uploads.set(name, written);
  });
  busboy.on("filesLimit", () => fail(refused(`At most ${limits.maxFiles} files per request`, 413)));
  busboy.on("partsLimit", () => fail(refused("Too many parts in the multipart request", 413)));
  busboy.on("fieldsLimit", () => fail(refused('Only the "operations" and "map" fields are allowed')));
  try {
    await pipeline(Readable.from(chunksOf(request.body)), busboy);
  } catch (error) {
    if (failure) throw failure;
    if (error instanceof ClientError) throw error;
    // yoga's body limit errors the stream with its own 413: pass it on as it is.
    if (error && typeof error === "object" && "extensions" in error) throw error;
    throw refused(`Malformed multipart request: ${(error as Error).message}`);
  }
  if (failure) throw failure;
  const operations = parseJsonField(fields.get("operations"), "operations");
  const map = parseJsonField(fields.get("map") ?? "{}", "map");
  if (typeof operations !== "object" || operations === null) throw refused('"operations" must be an object');
  if (typeof map !== "object" || map === null || Array.isArray(map)) throw refused('"map" must be an object');
  for (const [name, paths] of Object.entries(map)) {
    const upload = uploads.get(name);
    if (!upload) throw refused(`Multipart file "${name}" named in "map" is missing`);
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === "string"))
      throw refused(`"map" entry "${name}" must be a list of paths`);
    const file = await upload;
    for (const p of paths) setPath(operations as Record<string, unknown>, p, file);
  }
  return operations as GraphQLParams | GraphQLParams[];
}

function parseJsonField(value: string | undefined, name: string): unknown {
  if (value === undefined) throw refused(`Missing multipart field "${name}"`);
  try {
    return JSON.parse(value);
  } catch {
    throw refused(`Multipart field "${name}" is not valid JSON`);
  }
}

/** Puts a file where a `map` path says (`variables.input.file`, `0.variables.files.1`). */
function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split(".");
  let current: Record<string, unknown> = target;
  for (const [i, key] of keys.entries()) {
    if (key === "__proto__" || key === "constructor" || key === "prototype")
      throw refused(`"map" path "${dotted}" is not allowed`);
    if (i === keys.length - 1) {
      current[key] = value;
      return;
    }
    const next = current[key];
    if (typeof next !== "object" || next === null) throw refused(`"map" path "${dotted}" names nothing`);
    current = next as Record<string, unknown>;
  }
}

/**
 * A body's chunks; the server's streams are whatwg-node's own, which `Readable.fromWeb` does not take. Stops
 * reading (and cancels the body) when the consumer stops.
 */
async function* chunksOf(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read()) yield next.value;
  } finally {
    await reader.cancel().catch(() => {});
  }
}
