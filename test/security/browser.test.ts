import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { startTestServer, TEST_JWT_SECRET, type TestServer, tokenFor } from "../utils/server.js";
import { codes, endpoints, postGraphQL, rowCounts, send } from "./helpers.js";

// What a hostile web page can make a user's browser do, and what production hides from the curious.

const CREATE = 'mutation { createConversation(input: { title: "csrf" }) { conversation { id } } }';
const SEND_DOC = 'subscription { sendMessage(input: { content: "csrf" }) { __typename } }';

describe.each(testDatabaseKinds())("browser attacks on %s", (kind) => {
  let server: TestServer;
  // Development auth: a request without a token acts as dev-user, so a forged request would work if the
  // CSRF check did not stop it.
  beforeAll(async () => {
    server = await startTestServer(kind, { AUTH_JWT_SECRET: "", AUTH_DEV_MODE: "true" });
  });
  afterAll(() => server?.close());

  describe.each(endpoints)("CSRF on %s", (path) => {
    const simpleRequests: [string, Parameters<typeof send>[2]][] = [
      [
        "a GET without any header (an <img> or a link)",
        { method: "GET", query: `query=${encodeURIComponent("{ viewer { id } }")}` },
      ],
      [
        "a GET event stream (EventSource) of a send",
        {
          method: "GET",
          headers: { accept: "text/event-stream" },
          query: `query=${encodeURIComponent(SEND_DOC)}`,
        },
      ],
      [
        "a text/plain POST (a fetch with no-cors)",
        { headers: { "content-type": "text/plain" }, body: JSON.stringify({ query: CREATE }) },
      ],
      [
        "a form POST",
        {
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: `query=${encodeURIComponent(CREATE)}`,
        },
      ],
      [
        "a multipart form POST",
        {
          headers: { "content-type": "multipart/form-data; boundary=x" },
          body: `--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify({ query: CREATE })}\r\n--x--\r\n`,
        },
      ],
    ];

    it.each(simpleRequests)("refuses %s with 403 FORBIDDEN and writes nothing", async (_name, init) => {
      const before = await rowCounts(server.db.prisma);
      const answer = await send(server, path, init);
      expect(answer.status).toBe(403);
      expect(codes(answer.body)).toEqual(["FORBIDDEN"]);
      expect(await rowCounts(server.db.prisma)).toEqual(before);
    });

    it("serves the same GET once it carries a CSRF header (a preflighted request)", async () => {
      const answer = await send(server, path, {
        method: "GET",
        headers: {
          "x-graphql-yoga-csrf": "1",
          accept: path === "/graphql" ? "application/json" : "text/event-stream",
        },
        query: `query=${encodeURIComponent("{ viewer { id } }")}`,
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ data: { viewer: { id: "dev-user" } } });
    });
  });

  it("refuses a cross-site text/plain POST to the MCP endpoint too (403 FORBIDDEN)", async () => {
    const response = await fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(response.status).toBe(403);
    expect(codes((await response.json()) as never)).toEqual(["FORBIDDEN"]);
  });

  it("streams without compression, unbuffered, and pings at once on both SSE forms", async () => {
    for (const path of endpoints) {
      const controller = new AbortController();
      const response = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "text/event-stream",
          "accept-encoding": "gzip, br",
        },
        body: JSON.stringify({
          query: "subscription($id: ID!) { messageStream(messageId: $id) { __typename } }",
          variables: { id: "bad" },
        }),
        signal: controller.signal,
      });
      expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
      // yoga marks its streams `Content-Encoding: none` so that compression middleware leaves them alone.
      expect([null, "none"]).toContain(response.headers.get("content-encoding"));
      expect(response.headers.get("x-accel-buffering")).toBe("no");
      const first = await response.body?.getReader().read();
      expect(new TextDecoder().decode(first?.value)).toMatch(/^:/);
      controller.abort();
    }
  });
});

describe("CORS", () => {
  it("sends no CORS headers in production unless origins are configured", async () => {
    const server = await startTestServer("pglite", { NODE_ENV: "production" });
    try {
      const answer = await fetch(`${server.url}/graphql`, {
        method: "OPTIONS",
        headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
      });
      expect(answer.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await server.close();
    }
  });

  it("allows exactly the configured origins", async () => {
    const server = await startTestServer("pglite", {
      NODE_ENV: "production",
      CORS_ORIGINS: "https://app.example",
    });
    try {
      const preflight = (origin: string) =>
        fetch(`${server.url}/graphql`, {
          method: "OPTIONS",
          headers: {
            origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type",
          },
        });
      const good = await preflight("https://app.example");
      expect(good.headers.get("access-control-allow-origin")).toBe("https://app.example");
      const evil = await preflight("https://evil.example");
      expect(evil.headers.get("access-control-allow-origin")).not.toBe("https://evil.example");
    } finally {
      await server.close();
    }
  });
});

describe("production settings", () => {
  let server: TestServer;
  let token: string;
  const lines: string[] = [];
  beforeAll(async () => {
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    server = await startTestServer(
      "pglite",
      { NODE_ENV: "production" },
      { logger: createLogger({ level: "debug", destination }) },
    );
    token = await tokenFor("prod-user");
  });
  afterAll(() => server?.close());

  it("serves no GraphiQL page", async () => {
    const page = await fetch(`${server.url}/graphql`, { headers: { accept: "text/html" } });
    expect(await page.text()).not.toMatch(/graphiql/i);
  });

  it("refuses introspection and suggests no field names (BAD_USER_INPUT)", async () => {
    const introspection = await postGraphQL(server, "/graphql", token, "{ __schema { types { name } } }");
    expect(new Set(codes(introspection.body))).toEqual(new Set(["BAD_USER_INPUT"]));
    expect(introspection.body.data ?? null).toBeNull();
    const typo = await postGraphQL(server, "/graphql", token, "{ conversatio { id } }");
    expect(codes(typo.body)).toEqual(["BAD_USER_INPUT"]);
    expect(typo.body.errors?.[0]?.message).not.toMatch(/did you mean/i);
  });

  it("masks internal failures: INTERNAL, no SQL, no stack, on both endpoints", async () => {
    const prisma = server.db.prisma;
    await prisma.$executeRawUnsafe('ALTER TABLE "Conversation" RENAME TO "ConversationGone"');
    try {
      for (const path of endpoints) {
        const answer = await postGraphQL(server, path, token, "{ viewer { conversationCount } }");
        expect(codes(answer.body)).toEqual(["INTERNAL"]);
        expect(answer.body.errors?.[0]?.message).toBe("Internal server error");
        expect(answer.text).not.toMatch(/Conversation"|relation|SELECT|at .*\.ts:\d+|stack/);
      }
    } finally {
      await prisma.$executeRawUnsafe('ALTER TABLE "ConversationGone" RENAME TO "Conversation"');
    }
    // The operator still sees what happened, in the log.
    expect(lines.join("")).toMatch(/internal error/);
  });

  it("never writes tokens or secrets to the log, even at debug level", async () => {
    const bad = `${token.slice(0, -4)}AAAA`;
    await postGraphQL(server, "/graphql", token, "{ viewer { id } }");
    await postGraphQL(server, "/graphql", bad, "{ viewer { id } }");
    await postGraphQL(server, "/graphql/stream", token, "{ viewer { id } }");
    const log = lines.join("");
    expect(log).toContain('"msg":"request"');
    for (const secret of [token, bad, token.split(".")[2] ?? "", TEST_JWT_SECRET]) {
      expect(log).not.toContain(secret);
    }
  });
});
