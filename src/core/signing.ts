import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * HMAC-SHA256 signatures (base64url) under a server secret, for links that carry their own authority (a
 * download that needs no bearer token). Without a configured secret the key is random: signatures then hold
 * only in this process, until it stops.
 */
export class Signer {
  private readonly key: Buffer;

  constructor(secret: string | undefined) {
    this.key = secret ? Buffer.from(secret) : randomBytes(32);
  }

  sign(text: string): string {
    return createHmac("sha256", this.key).update(text).digest("base64url");
  }

  /** Whether `signature` is this text's, compared in constant time. */
  verifies(text: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(text));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
