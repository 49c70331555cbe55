import { readFileSync } from "node:fs";
import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabaseKinds } from "../utils/databases.js";
import * as operations from "../utils/operations.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { codes, endpoints, jsonHeaders, postGraphQL, rowCounts, send } from "./helpers.js";

// Attacks on the request and the GraphQL document itself, each answered before anything runs. Every
// attack is tried on both endpoints: /graphql and the graphql-sse endpoint /graphql/stream.

const SEND = `subscription Send($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }`;

/** A document `3n + 2` levels deep (conversation -> messages -> edges -> node -> conversation ...), cheap. */
function deepQuery(n: number) {
  let inner = "id";
  for (let i = 0; i < n; i++) inner = `messages(first: 1) { edges { node { conversation { ${inner} } } } }`;
  return `query Deep($id: ID!) { conversation(id: $id) { ${inner} } }`;
}

describe.each(testDatabaseKinds())("document and request limits on %s", (kind) => {
  let server: TestServer;
  let token: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    token = await tokenFor("attacker");
  });
  afterAll(() => server?.close());

  describe.each(endpoints)("on %s", (path) => {
    it.each([
      ["a query nested past the depth limit", deepQuery(3), /depth/i],
      [
        "nested connections whose page sizes multiply past the cost limit",
        "{ conversations(first: 100) { edges { node { messages(first: 100) { edges { node { content } } } } } } }",
        /cost/i,
      ],
      [
        "an alias flood",
        `{ ${Array.from({ length: 50 }, (_, i) => `a${i}: viewer { id }`).join(" ")} }`,
        /alias/i,
      ],
      ["a token flood", `{ viewer { ${"id ".repeat(1_500)} } }`, /token/i],
      ["a directive flood", `{ viewer { id ${"@include(if: true) ".repeat(40)} } }`, /directive/i],
      ["a document past the character limit", `{ viewer { id } } ${"#".repeat(20_000)}`, /character/i],
    ])("answers %s with BAD_USER_INPUT", async (_name, query, message) => {
      const before = await rowCounts(server.db.prisma);
      const answer = await postGraphQL(server, path, token, query, { id: "x" });
      expect(new Set(codes(answer.body))).toEqual(new Set(["BAD_USER_INPUT"]));
      expect(answer.body.errors?.some((e) => message.test(e.message))).toBe(true);
      expect(answer.body.data ?? null).toBeNull();
      expect(await rowCounts(server.db.prisma)).toEqual(before);
    });

    it("answers page sizes passed as variables that multiply past the cost limit with BAD_USER_INPUT", async () => {
      const query = `query Q($a: Int, $b: Int) { conversations(first: $a) { edges { node {
        messages(first: $b) { edges { node { content } } } } } } }`;
      const answer = await postGraphQL(server, path, token, query, { a: 100, b: 100 });
      expect(codes(answer.body)).toEqual(["BAD_USER_INPUT"]);
      expect(answer.body.errors?.[0]?.message).toMatch(/cost/i);
      const fine = await postGraphQL(server, path, token, query, { a: 100, b: 2 });
      expect(fine.body.errors).toBeUndefined();
    });

    it("refuses a send whose variables are huge (a 2 MB message) with BAD_USER_INPUT and writes nothing", async () => {
      const before = await rowCounts(server.db.prisma);
      const answer = await postGraphQL(server, path, token, SEND, {
        input: { content: "x".repeat(2_000_000) },
      });
      expect(answer.status).toBe(413);
      expect(codes(answer.body)).toEqual(["BAD_USER_INPUT"]);
      expect(await rowCounts(server.db.prisma)).toEqual(before);
    });

    it("refuses a message over MAX_MESSAGE_LENGTH that fits the body limit, writing nothing", async () => {
      const before = await rowCounts(server.db.prisma);
      const answer = await postGraphQL(server, path, token, SEND, { input: { content: "x".repeat(40_000) } });
      expect(codes(answer.body)).toEqual(["BAD_USER_INPUT"]);
      expect(answer.body.errors?.[0]?.extensions?.field).toBe("content");
      expect(await rowCounts(server.db.prisma)).toEqual(before);
    });

    it("refuses an oversized body sent in chunks without Content-Length (413, BAD_USER_INPUT)", async () => {
      const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 40) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const answer = await send(server, path, { headers: jsonHeaders(token, path), body });
      expect(answer.status).toBe(413);
      expect(codes(answer.body)).toEqual(["BAD_USER_INPUT"]);
    });

    it("answers malformed JSON with 400 BAD_USER_INPUT", async () => {
      const answer = await send(server, path, {
        headers: jsonHeaders(token, path),
        body: '{"query": "{ viewer',
      });
      expect(answer.status).toBe(400);
      expect(answer.text).toMatch(/JSON/);
      if (path === "/graphql") expect(codes(answer.body)).toEqual(["BAD_USER_INPUT"]);
    });

    it("answers a body that is not valid UTF-8 with 400 BAD_USER_INPUT and writes nothing", async () => {
      const before = await rowCounts(server.db.prisma);
      const body = Buffer.concat([
        Buffer.from(JSON.stringify({ query: SEND }).slice(0, -1)),
        Buffer.from(',"variables":{"input":{"content":"bad '),
        Buffer.from([0xc3, 0x28, 0xff]),
        Buffer.from('"}}}'),
      ]);
      const answer = await send(server, path, { headers: jsonHeaders(token, path), body });
      expect(answer.status).toBe(400);
      expect(codes(answer.body)).toEqual(["BAD_USER_INPUT"]);
      expect(answer.body.errors?.[0]?.message).toMatch(/UTF-8/);
      expect(await rowCounts(server.db.prisma)).toEqual(before);
    });

    it("answers a GET whose query string is not valid UTF-8 with 400 BAD_USER_INPUT", async () => {
      const answer = await send(server, path, {
        method: "GET",
        headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" },
        query: `query=${encodeURIComponent(SEND)}&variables=%7B%22input%22%3A%7B%22content%22%3A%22%C3%28%22%7D%7D`,
      });
      expect(answer.status).toBe(400);
      expect(codes(answer.body)).toEqual(["BAD_USER_INPUT"]);
    });

    it("answers a syntax error and an unknown field with BAD_USER_INPUT", async () => {
      for (const query of ["{ viewer { id ", "{ nope }"]) {
        const answer = await postGraphQL(server, path, token, query);
        expect(codes(answer.body)).toEqual(["BAD_USER_INPUT"]);
      }
    });

    it("refuses a mutation over GET", async () => {
      const before = await rowCounts(server.db.prisma);
      const mutation = 'mutation { createConversation(input: { title: "via GET" }) { conversation { id } } }';
      const answer = await send(server, path, {
        method: "GET",
        headers: { authorization: `Bearer ${token}`, accept: "application/json, text/event-stream" },
        query: `query=${encodeURIComponent(mutation)}`,
      });
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(await rowCounts(server.db.prisma)).toEqual(before);
    });
  });

  it("lets every operation the tests and the README use through the default limits, with full pages", async () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const readmeDocs = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
    const documents = [
      ...Object.values(operations)
        .map((d) => print(d))
        .filter((d) => !d.startsWith("fragment")),
      ...readmeDocs,
    ];
    expect(documents.length).toBeGreaterThan(10);
    const variables = { first: 100, last: 100, id: "x", messageId: "x", conversationId: "x", content: "hi" };
    for (const query of documents) {
      // Validation-only: `operationName` is absent for multi-operation README blocks, so ask yoga to check
      // each operation by name; a limit rejection would be BAD_USER_INPUT with a limit message.
      const names = [...query.matchAll(/(?:query|mutation|subscription)\s+(\w+)/g)].map((m) => m[1]);
      for (const operationName of names.length > 0 ? names : [undefined]) {
        const answer = await postGraphQL(server, "/graphql", token, query, variables, { operationName });
        const limitErrors = (answer.body.errors ?? []).filter((e) =>
          /limit|exceeded|cost|depth|alias|token|directive/i.test(e.message),
        );
        expect(limitErrors, `${operationName}: ${JSON.stringify(limitErrors)}`).toEqual([]);
      }
    }
  });
});
