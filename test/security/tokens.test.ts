import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuthenticator } from "../../src/auth/tokens.js";
import { loadConfig } from "../../src/core/config.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { startTestServer, TEST_JWT_SECRET, type TestServer, tokenFor } from "../utils/server.js";
import { codes, endpoints, postGraphQL, rowCounts } from "./helpers.js";

// Tokens an attacker can make: expired, signed with a guessed secret, unsigned (alg: none), with a
// foreign issuer or audience, a subject that is no user. Each is refused as UNAUTHENTICATED before the
// operation starts, on both endpoints, and a send made with one writes nothing.

const part = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
const exp = () => Math.floor(Date.now() / 1000) + 3600;
const secret = new TextEncoder().encode(TEST_JWT_SECRET);

const forgeries: [string, () => Promise<string>][] = [
  ["expired", () => tokenFor("alice", { expiresIn: Math.floor(Date.now() / 1000) - 60 })],
  ["signed with another secret", () => tokenFor("alice", { secret: `${TEST_JWT_SECRET}-guess` })],
  [
    "unsigned (alg: none)",
    async () => `${part({ alg: "none", typ: "JWT" })}.${part({ sub: "alice", exp: exp() })}.`,
  ],
  [
    "with the signature of another payload",
    async () => {
      const [header, , signature] = (await tokenFor("bob")).split(".");
      return `${header}.${part({ sub: "alice", exp: exp() })}.${signature}`;
    },
  ],
  [
    "from another issuer",
    () =>
      new SignJWT({})
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("alice")
        .setIssuer("evil")
        .setExpirationTime("1h")
        .sign(secret),
  ],
  [
    "for another audience",
    () =>
      new SignJWT({})
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("alice")
        .setAudience("other")
        .setExpirationTime("1h")
        .sign(secret),
  ],
  [
    "without a subject",
    () =>
      new SignJWT({})
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer("chat")
        .setAudience("chat-api")
        .setExpirationTime("1h")
        .sign(secret),
  ],
  ["that is no JWT at all", async () => "definitely.not.ajwt"],
];

describe.each(testDatabaseKinds())("forged and expired tokens on %s", (kind) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(kind, { AUTH_ISSUER: "chat", AUTH_AUDIENCE: "chat-api" });
  });
  afterAll(() => server?.close());

  describe.each(endpoints)("on %s", (path) => {
    it.each(forgeries)("refuses a token %s as UNAUTHENTICATED, writing nothing", async (_name, make) => {
      const token = await make();
      const before = await rowCounts(server.db.prisma);
      const query = await postGraphQL(server, path, token, "{ viewer { id } }");
      expect(codes(query.body)).toEqual(["UNAUTHENTICATED"]);
      if (path === "/graphql") expect(query.status).toBe(401);
      const sent = await postGraphQL(
        server,
        path,
        token,
        'subscription { sendMessage(input: { content: "as alice" }) { __typename } }',
      );
      expect(codes(sent.body)).toEqual(["UNAUTHENTICATED"]);
      expect(await rowCounts(server.db.prisma)).toEqual(before);
    });

    it("refuses a send without any token as UNAUTHENTICATED, writing nothing", async () => {
      const before = await rowCounts(server.db.prisma);
      const sent = await postGraphQL(
        server,
        path,
        null,
        'subscription { sendMessage(input: { content: "hi" }) { __typename } }',
      );
      expect(codes(sent.body)).toEqual(["UNAUTHENTICATED"]);
      expect(await rowCounts(server.db.prisma)).toEqual(before);
    });

    it("accepts a token with the configured issuer and audience", async () => {
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("alice")
        .setIssuer("chat")
        .setAudience("chat-api")
        .setExpirationTime("1h")
        .sign(secret);
      const answer = await postGraphQL(server, path, token, "{ viewer { id } }");
      expect(answer.body).toEqual({ data: { viewer: { id: "alice" } } });
    });
  });
});

// Accepted tokens are remembered (verifying a signature costs more than a short request): never past
// their expiry, and a token that differs in any byte is verified on its own.
describe("remembered tokens", () => {
  const authenticate = createAuthenticator(
    loadConfig({ NODE_ENV: "production", AUTH_JWT_SECRET: TEST_JWT_SECRET }).auth,
  );
  const request = (token: string) =>
    new Request("http://localhost/graphql", { headers: { authorization: `Bearer ${token}` } });

  it("refuses a remembered token once it has expired", async () => {
    const token = await tokenFor("alice", { expiresIn: Math.floor(Date.now() / 1000) + 2 });
    expect(await authenticate(request(token))).toEqual({ id: "alice" });
    expect(await authenticate(request(token))).toEqual({ id: "alice" });
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    await expect(authenticate(request(token))).rejects.toMatchObject({ message: "Token expired" });
  });

  it("verifies a token changed after one was accepted, and refuses it", async () => {
    const token = await tokenFor("alice");
    expect(await authenticate(request(token))).toEqual({ id: "alice" });
    const [header, payload, signature] = token.split(".");
    const forged = `${header}.${part({ ...JSON.parse(Buffer.from(payload ?? "", "base64url").toString()), sub: "bob" })}.${signature}`;
    await expect(authenticate(request(forged))).rejects.toMatchObject({
      extensions: { code: "UNAUTHENTICATED" },
    });
  });
});
