import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** Where attachments are downloaded: `/attachments/<id>?expires=<unix seconds>&sig=<HMAC>`. */
export const ATTACHMENT_PATH_PREFIX = "/attachments/";

/**
 * Time-limited download links that need no bearer token (so they work in `<img src>`): the attachment id and
 * the expiry, signed with HMAC-SHA256 under a server secret. Expiries are rounded up to a tenth of the
 * lifetime so the same attachment keeps the same link for a while and browsers can cache it.
 */
export class AttachmentUrls {
  private readonly secret: Buffer;

  constructor(
    secret: string | undefined,
    private readonly ttlSeconds: number,
    private readonly base: () => string,
  ) {
    // Without a configured secret, links are good only on this process until it stops.
    this.secret = secret ? Buffer.from(secret) : randomBytes(32);
  }

  /** A signed link to the attachment, valid for at least the configured lifetime. */
  sign(id: string, now = Date.now()): string {
    const step = Math.max(1, Math.ceil(this.ttlSeconds / 10));
    const expires = Math.ceil((Math.floor(now / 1000) + this.ttlSeconds) / step) * step;
    const url = new URL(`${ATTACHMENT_PATH_PREFIX}${id}`, this.base());
    url.searchParams.set("expires", String(expires));
    url.searchParams.set("sig", this.signature(id, expires));
    return url.toString();
  }

  /** Whether a link's id, expiry and signature are genuine and unexpired. */
  verify(id: string, expires: string | null, sig: string | null, now = Date.now()): boolean {
    if (expires === null || sig === null || !/^\d{1,12}$/.test(expires)) return false;
    if (Number(expires) * 1000 <= now) return false;
    const expected = Buffer.from(this.signature(id, Number(expires)));
    const given = Buffer.from(sig);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private signature(id: string, expires: number): string {
    return createHmac("sha256", this.secret).update(`${id}.${expires}`).digest("base64url");
  }
}
