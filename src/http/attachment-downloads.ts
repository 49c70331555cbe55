import type { Plugin } from "graphql-yoga";
import { isUuid } from "../core/ids.js";
import { findAttachment } from "../db/attachments.js";
import type { BlobStore } from "../db/blobs.js";
import type { Db } from "../db/client.js";
import { ATTACHMENT_PATH_PREFIX, type AttachmentUrls } from "./attachment-urls.js";

/** Image types a browser shows inline without running anything. */
const INLINE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif"]);

/**
 * `GET /attachments/<id>?expires=&sig=`: an attachment's bytes, streamed from the store, for whoever holds a
 * genuine, unexpired link (see {@link AttachmentUrls}). A bad or expired link is a bare 403, a deleted
 * attachment a bare 404. Images that cannot carry script are shown inline; everything else is a download
 * of its sniffed type, which is never HTML, and the sandbox policy keeps our origin out of reach anyway.
 */
export function useAttachmentDownloads(deps: { prisma: Db; blobs: BlobStore; urls: AttachmentUrls }): Plugin {
  return {
    onRequest({ request, url, endResponse }) {
      if (!url.pathname.startsWith(ATTACHMENT_PATH_PREFIX)) return;
      if (request.method !== "GET" && request.method !== "HEAD") {
        return endResponse(new Response(null, { status: 405, headers: { allow: "GET, HEAD" } }));
      }
      const id = url.pathname.slice(ATTACHMENT_PATH_PREFIX.length);
      const genuine =
        isUuid(id) && deps.urls.verify(id, url.searchParams.get("expires"), url.searchParams.get("sig"));
      if (!genuine) return endResponse(bare(403));
      return findAttachment(deps.prisma, id).then((attachment) => {
        if (!attachment) return endResponse(bare(404));
        const inline = INLINE_TYPES.has(attachment.contentType);
        const expires = Number(url.searchParams.get("expires"));
        const maxAge = Math.max(0, expires - Math.floor(Date.now() / 1000));
        const headers = {
          "content-type": attachment.contentType,
          "content-length": String(attachment.size),
          "content-disposition": disposition(inline ? "inline" : "attachment", attachment.filename),
          "x-content-type-options": "nosniff",
          "content-security-policy": "default-src 'none'; sandbox",
          "cache-control": `private, max-age=${maxAge}, immutable`,
          etag: `"${attachment.sha256}"`,
        };
        const body = request.method === "HEAD" ? null : deps.blobs.open(attachment.blob);
        endResponse(new Response(body, { status: 200, headers }));
      });
    },
  };
}

function bare(status: number): Response {
  return new Response(null, { status, headers: { "cache-control": "no-store" } });
}

/** `Content-Disposition` with an ASCII fallback name and the exact name in RFC 5987 form. */
function disposition(type: "inline" | "attachment", filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}
