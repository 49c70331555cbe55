import { createVerifier as createHmacVerifier } from "fast-jwt";
import { createRemoteJWKSet, decodeJwt, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import { LRUCache } from "lru-cache";
import type { Config } from "../core/config.js";
import { UnauthenticatedError } from "../core/errors.js";

/** The authenticated user: the token's `sub`. */
export interface Viewer {
  readonly id: string;
}

/** Resolves a request's identity: a {@link Viewer}, null when it carries none, or throws when it is bad. */
export type Authenticate = (request: Request) => Promise<Viewer | null>;

/** The user development mode assumes when a request carries no token. */
export const DEV_USER_ID = "dev-user";

const ASYMMETRIC_ALGORITHMS = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "EdDSA",
];
const MAX_SUBJECT_LENGTH = 255;
/** Verified tokens remembered: a client sends the same token with every request and stream. */
const VERIFIED_TOKENS = 10_000;
/** Longest a verified token is trusted without verifying it again (a JWKS key can be rotated out). */
const VERIFIED_TTL_MS = 60_000;

/**
 * Builds the authenticator the configuration asks for. Verified tokens (HS256 secret or JWKS) always win;
 * development mode additionally accepts unsigned tokens and no token at all, and must never run in
 * production (the configuration refuses it).
 */
export function createAuthenticator(auth: Config["auth"]): Authenticate {
  const verifier = createVerifier(auth);
  return async (request) => {
    const token = bearerToken(request);
    if (token === null) return auth.devMode ? { id: DEV_USER_ID } : null;
    if (verifier) {
      try {
        return viewerFrom(await verifier(token));
      } catch (error) {
        if (!auth.devMode) throw toAuthError(error);
      }
    }
    if (auth.devMode) return viewerFrom(decodeUnverified(token));
    throw new UnauthenticatedError("Invalid token");
  };
}

function createVerifier(auth: Config["auth"]) {
  const options = { issuer: auth.issuer, audience: auth.audience };
  if (auth.secret) {
    // fast-jwt verifies HS256 with node:crypto in the calling thread: jose goes through WebCrypto, whose
    // job dispatch cost as much as a short request (profiled at 4 % of the server's CPU when streams start).
    const verify = createHmacVerifier({
      key: auth.secret,
      algorithms: ["HS256"],
      ...(auth.issuer ? { allowedIss: auth.issuer } : {}),
      ...(auth.audience ? { allowedAud: auth.audience } : {}),
    });
    return remembered(async (token) => verify(token) as JWTPayload);
  }
  if (auth.jwksUrl) {
    const jwks: JWTVerifyGetKey = createRemoteJWKSet(new URL(auth.jwksUrl));
    return remembered(
      async (token) =>
        (await jwtVerify(token, jwks, { ...options, algorithms: ASYMMETRIC_ALGORITHMS })).payload,
    );
  }
  return null;
}

/**
 * A verifier that remembers the tokens it accepted (keyed by the whole token, signature included) until
 * they expire, for at most a minute: a client sends the same token with every request, and a JWKS
 * signature (WebCrypto) costs more than the rest of a short request. Refused tokens are not remembered, so
 * each refusal is verified (and told) again.
 */
function remembered(verify: (token: string) => Promise<JWTPayload>) {
  const accepted = new LRUCache<string, JWTPayload>({ max: VERIFIED_TOKENS, ttl: VERIFIED_TTL_MS });
  return async (token: string) => {
    const known = accepted.get(token);
    if (known) {
      if (known.exp === undefined || known.exp * 1000 > Date.now()) return known;
      accepted.delete(token);
    }
    const payload = await verify(token);
    const left = payload.exp === undefined ? VERIFIED_TTL_MS : payload.exp * 1000 - Date.now();
    if (left > 0) accepted.set(token, payload, { ttl: Math.min(left, VERIFIED_TTL_MS) });
    return payload;
  };
}

function bearerToken(request: Request): string | null {
  const header = request.headers.get("authorization");
  if (header === null || header.trim() === "") return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw new UnauthenticatedError("Authorization header must be 'Bearer <token>'");
  return match[1];
}

function decodeUnverified(token: string) {
  try {
    return decodeJwt(token);
  } catch {
    throw new UnauthenticatedError("Invalid token");
  }
}

function viewerFrom(payload: { sub?: string }): Viewer {
  const sub = payload.sub;
  if (typeof sub !== "string" || sub.length === 0 || sub.length > MAX_SUBJECT_LENGTH) {
    throw new UnauthenticatedError("Token has no usable 'sub' claim");
  }
  return { id: sub };
}

function toAuthError(error: unknown): UnauthenticatedError {
  if (error instanceof UnauthenticatedError) return error;
  const code = (error as { code?: string }).code;
  if (code === "ERR_JWT_EXPIRED" || code === "FAST_JWT_EXPIRED")
    return new UnauthenticatedError("Token expired");
  return new UnauthenticatedError("Invalid token");
}
