import { isUuid } from "../../core/ids.js";
import { Signer } from "../../core/signing.js";
import type { BlobRef, BlobStore } from "../../db/blobs.js";
import type { Db } from "../../db/client.js";
import { exportPage } from "../../db/exchange.js";
import type { Logger } from "../../observability/logger.js";
import { BLOBS_OPENING, blobOpening, EXPORT_CLOSING, exportHeader, toNative } from "./native.js";

/** Where export downloads are served. */
export const EXPORT_PATH = "/export";
/** Conversations read per statement while an export streams. */
const EXPORT_PAGE = 20;

/**
 * What a download link grants: the user's conversations (all, or these ids) until `exp` (epoch seconds),
 * with the attachments' bytes unless `f` is false.
 */
interface Grant {
  u: string;
  ids: string[] | null;
  f: boolean;
  exp: number;
}

/**
 * Signed, time-limited download links for exports (HMAC-SHA256 over the grant): a link works without a
 * bearer token (a browser's plain download), for its user and conversations only, until it expires. The
 * export is written when the link is fetched, so it holds the conversations as they are then.
 */
export class ExportLinks {
  private readonly signer: Signer;
  constructor(
    secret: string | undefined,
    private readonly ttlSeconds: number,
    private readonly baseUrl: () => string,
  ) {
    this.signer = new Signer(secret);
  }

  /** A link to download `userId`'s conversations (`ids` null: all of them), with their files or not. */
  sign(
    userId: string,
    ids: string[] | null,
    includeFiles: boolean,
    now = Date.now(),
  ): { url: string; expiresAt: Date } {
    const exp = Math.floor(now / 1000) + this.ttlSeconds;
    const payload = Buffer.from(
      JSON.stringify({ u: userId, ids, f: includeFiles, exp } satisfies Grant),
    ).toString("base64url");
    const url = new URL(EXPORT_PATH, this.baseUrl());
    url.searchParams.set("token", `${payload}.${this.signer.sign(payload)}`);
    return { url: url.toString(), expiresAt: new Date(exp * 1000) };
  }

  /** The grant a link's token carries, or null when it is forged, damaged or expired. */
  verify(token: string, now = Date.now()): Grant | null {
    const [payload, mac, extra] = token.split(".");
    if (!payload || !mac || extra !== undefined || !this.signer.verifies(payload, mac)) return null;
    const grant = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Grant;
    return grant.exp * 1000 > now ? grant : null;
  }
}

/** A blob's bytes as base64, in pieces: each piece a whole number of 3-byte groups but the last. */
async function* base64Of(bytes: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = bytes.getReader();
  let carry = Buffer.alloc(0);
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      const joined = Buffer.concat([carry, next.value]);
      const whole = joined.byteLength - (joined.byteLength % 3);
      if (whole > 0) yield joined.subarray(0, whole).toString("base64");
      carry = joined.subarray(whole);
    }
  } finally {
    reader.releaseLock();
  }
  if (carry.byteLength > 0) yield carry.toString("base64");
}

/**
 * The export file, piece by piece: the header, each conversation as it is read, then (unless without
 * files, when `blobs` is left out) the bytes of every distinct blob the attachments use, each read from the store a chunk at a time,
 * and the closing brackets. Only the blobs' addresses are held between the two, never their bytes.
 */
async function* exportChunks(
  db: Db,
  blobs: BlobStore,
  ownerId: string,
  grant: { ids: string[] | null; includeFiles: boolean },
): AsyncGenerator<string> {
  yield exportHeader(new Date());
  const used = new Map<string, BlobRef & { size: number }>();
  let afterId: string | null = null;
  let separator = "";
  for (;;) {
    const page = await exportPage(db, ownerId, { ids: grant.ids, afterId, take: EXPORT_PAGE });
    for (const conversation of page) {
      yield separator + JSON.stringify(toNative(conversation));
      separator = ",";
      for (const m of conversation.messages)
        for (const { attachment } of m.attachments)
          used.set(attachment.sha256, { ...attachment.blob, size: attachment.size });
    }
    const last = page.at(-1);
    if (!last || page.length < EXPORT_PAGE) break;
    afterId = last.id;
  }
  // Without files there is no `blobs` at all: an import then knows the bytes were left out on purpose.
  if (!grant.includeFiles) {
    yield "]}";
    return;
  }
  yield BLOBS_OPENING;
  let first = true;
  for (const [sha256, blob] of used) {
    yield blobOpening(sha256, blob.size, first);
    first = false;
    yield* base64Of(blobs.open(blob));
    yield '"}';
  }
  yield EXPORT_CLOSING;
}

const refused = (status: number, message: string) =>
  Response.json({ error: message }, { status, headers: { "cache-control": "no-store" } });

/**
 * `GET /export?token=`: the export a signed link grants, streamed as `application/json` with
 * `Content-Disposition: attachment`, a page of conversations at a time (never the whole file in memory).
 */
export function downloadExport(
  deps: { prisma: Db; blobs: BlobStore; links: ExportLinks; logger: Logger },
  url: URL,
): Response {
  const grant = deps.links.verify(url.searchParams.get("token") ?? "");
  if (!grant) return refused(403, "This export link is invalid or has expired; ask for a new one.");
  const ids = grant.ids?.filter(isUuid) ?? null;
  const chunks = exportChunks(deps.prisma, deps.blobs, grant.u, { ids, includeFiles: grant.f !== false });
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      } catch (error) {
        deps.logger.warn({ err: error }, "an export failed while streaming");
        controller.error(error);
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
  const day = new Date().toISOString().slice(0, 10);
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "content-disposition": `attachment; filename="conversations-${day}.json"`,
      "cache-control": "no-store",
    },
  });
}
