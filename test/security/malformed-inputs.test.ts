import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { encodeGlobalID } from "@pothos/plugin-relay";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";
import { testDatabaseKinds } from "../utils/databases.js";
import { CreateConversation } from "../utils/operations.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { codes, endpoints, postGraphQL, rowCounts, send } from "./helpers.js";

// Inputs that used to reach the database unchecked and come back as HTTP 500 INTERNAL, and client mistakes
// that used to be logged as server errors (with Prisma's stack): each is refused with its code, writes
// nothing, and leaves no line at error level.

const NUL = "\u0000";
const BAD_IDS = [
  encodeGlobalID("Conversation", "not-a-uuid"),
  encodeGlobalID("Message", "1".repeat(5_000)),
  encodeGlobalID("ToolCall", randomUUID()),
  encodeGlobalID("Nope", randomUUID()),
  encodeGlobalID("Conversation", ""),
];

describe.each(testDatabaseKinds())("malformed inputs on %s", (kind) => {
  let server: TestServer;
  let token: string;
  let conversationId: string;
  const lines: { level: number; msg: string; err?: { stack?: string } }[] = [];

  beforeAll(async () => {
    const destination = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    server = await startTestServer(kind, {}, { logger: createLogger({ level: "debug", destination }) });
    token = await tokenFor(`malformed-${randomUUID()}`);
    const created = await server.request(CreateConversation, { title: "kept" }, token);
    conversationId = created.data?.createConversation.conversation.id ?? "";
  });
  afterAll(() => server?.close());
  beforeEach(() => {
    lines.length = 0;
  });

  /** Lines at error level or above (pino: 50), or any line carrying a stack trace. */
  const serverErrors = () => lines.filter((l) => l.level >= 50 || l.err?.stack !== undefined);

  it.each(BAD_IDS)("answers node(id: %#) with null or NOT_FOUND, never INTERNAL", async (id) => {
    for (const path of endpoints) {
      const one = await postGraphQL(server, path, token, "query($id: ID!) { node(id: $id) { id } }", { id });
      expect(one.status).toBeLessThan(500);
      expect(codes(one.body)).not.toContain("INTERNAL");
      expect(one.body.data === null || (one.body.data as { node: unknown }).node === null).toBe(true);
      const many = await postGraphQL(server, path, token, "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {
        ids: [id, conversationId],
      });
      expect(many.status).toBeLessThan(500);
      expect(codes(many.body)).not.toContain("INTERNAL");
    }
    expect(serverErrors()).toEqual([]);
  });

  it.each(["variables={", "variables=x", "extensions=x", "extensions={", "variables=[1]", "extensions=1"])(
    "answers GET /graphql?%s with BAD_USER_INPUT",
    async (param) => {
      const answer = await send(server, "/graphql", {
        method: "GET",
        query: `query=${encodeURIComponent("{ viewer { id } }")}&${param}`,
        headers: { accept: "application/json", authorization: `Bearer ${token}` },
      });
      expect(answer.status).toBe(400);
      expect(codes(answer.body)).toEqual(["BAD_USER_INPUT"]);
      expect(serverErrors()).toEqual([]);
    },
  );

  const nulInputs: [string, string, (text: string) => Record<string, unknown>][] = [
    [
      "a title",
      "mutation($t: String!) { createConversation(input: { title: $t }) { conversation { id } } }",
      (t) => ({ t }),
    ],
    [
      "a new title",
      "mutation($id: ID!, $t: String!) { renameConversation(input: { id: $id, title: $t }) { conversation { id } } }",
      (t) => ({ id: conversationId, t }),
    ],
    [
      "a system prompt",
      "mutation($id: ID!, $t: String!) { updateConversationSettings(input: { id: $id, systemPrompt: $t }) { conversation { id } } }",
      (t) => ({ id: conversationId, t }),
    ],
    [
      "message content",
      "subscription($c: String!) { sendMessage(input: { content: $c }) { __typename } }",
      (c) => ({ c }),
    ],
    [
      "a clientMessageId",
      'subscription($k: String!) { sendMessage(input: { content: "hi", clientMessageId: $k }) { __typename } }',
      (k) => ({ k }),
    ],
    [
      "a model name",
      'subscription($m: String!) { sendMessage(input: { content: "hi", model: $m }) { __typename } }',
      (m) => ({ m }),
    ],
    ["a search query", "query($q: String!) { searchMessages(query: $q) { totalCount } }", (q) => ({ q })],
  ];

  it.each(nulInputs)(
    "refuses a NUL character in %s with BAD_USER_INPUT and writes nothing",
    async (_name, query, vars) => {
      for (const path of endpoints) {
        const before = await rowCounts(server.db.prisma);
        const answer = await postGraphQL(server, path, token, query, vars(`before${NUL}after`));
        expect(answer.status).toBeLessThan(500);
        expect(codes(answer.body)).toEqual(["BAD_USER_INPUT"]);
        expect(await rowCounts(server.db.prisma)).toEqual(before);
      }
      expect(serverErrors()).toEqual([]);
    },
  );

  it.each([
    [
      "a missing node",
      "query($id: ID!) { conversation(id: $id) { id } }",
      { id: encodeGlobalID("Conversation", randomUUID()) },
    ],
    ["a bad cursor", '{ conversations(first: 2, after: "garbage") { totalCount } }', {}],
    [
      "a bad message cursor",
      'query($id: ID!) { conversation(id: $id) { messages(first: 2, after: "x") { totalCount } } }',
      null,
    ],
    ["an invalid global id", "query($id: ID!) { conversation(id: $id) { id } }", { id: "%%%" }],
    ["first: -1", "{ conversations(first: -1) { totalCount } }", {}],
    ["a bad search cursor", '{ searchMessages(query: "x", after: "nope") { totalCount } }', {}],
  ])("logs %s as a client mistake: no error level, no stack", async (_name, query, variables) => {
    const answer = await postGraphQL(server, "/graphql", token, query, variables ?? { id: conversationId });
    expect(answer.status).toBeLessThan(500);
    expect(answer.body.errors?.length ?? 0).toBeGreaterThan(0);
    expect(codes(answer.body)).not.toContain("INTERNAL");
    expect(serverErrors()).toEqual([]);
  });
});
