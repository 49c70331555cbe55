import { Signer } from "../core/signing.js";

/** Where attachments are downloaded: `/attachments/<id>?expires=<unix seconds>&sig=<HMAC>`. */
export const ATTACHMENT_PATH_PREFIX = "/attachments/";

/**
 * Time-limited download links that need no bearer token (so they work in `<img src>`): the attachment id and
 * the expiry, signed with HMAC-SHA256 under a server secret. Expiries are rounded up to a tenth of the
 * lifetime so the same attachment keeps the same link for a while and browsers can cache it.
 */
export class AttachmentUrls {
  private readonly signer: Signer;

  constructor(
    secret: string | undefined,
    private readonly ttlSeconds: number,
    private readonly base: () => string,
  ) {
    this.signer = new Signer(secret);
  }

  /** A signed link to the attachment, valid for at least the configured lifetime. */
  sign(id: string, now = Date.now()): string {
    const step = Math.max(1, Math.ceil(this.ttlSeconds / 10));
    const expires = Math.ceil((Math.floor(now / 1000) + this.ttlSeconds) / step) * step;
    const url = new URL(`${ATTACHMENT_PATH_PREFIX}${id}`, this.base());
    url.searchParams.set("expires", String(expires));
    url.searchParams.set("sig", this.signer.sign(`${id}.${expires}`));
    return url.toString();
  }

  /** Whether a link's id, expiry and signature are genuine and unexpired. */
  verify(id: string, expires: string | null, sig: string | null, now = Date.now()): boolean {
    if (expires === null || sig === null || !/^\d{1,12}$/.test(expires)) return false;
    if (Number(expires) * 1000 <= now) return false;
    return this.signer.verifies(`${id}.${Number(expires)}`, sig);
  }
}
