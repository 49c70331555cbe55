import { randomUUID } from "node:crypto";
import { encodeGlobalID } from "@pothos/plugin-relay";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabaseKinds } from "../utils/databases.js";
import { CreateConversation } from "../utils/operations.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { rowCounts } from "./helpers.js";

// Generated requests thrown at a real server: operations, variables, ids, cursors, headers and bodies,
// well-formed and not. Whatever comes, the answer is never a 5xx, never shows a stack trace or SQL, a
// refused request writes nothing, and the server still answers afterwards. CI runs a fixed seed and a
// few hundred cases; `FUZZ_RUNS=20000 FUZZ_SEED=7 npm run fuzz` runs longer.

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_121);
const WRITES =
  /"(sendMessage|createConversation|renameConversation|archiveConversation|deleteConversation|stopGeneration)"\s*:\s*\{/;
const LEAKS = [
  /\n\s+at [\w.<>]+ \(/,
  /prisma/i,
  /\bSELECT\b.*\bFROM\b/,
  /\bINSERT INTO\b/,
  /\bduplicate key\b/,
];

const OPERATIONS = [
  "query($id: ID!) { node(id: $id) { id } }",
  "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
  "query($id: ID!) { conversation(id: $id) { id title messages(first: 3) { totalCount } } }",
  "query($first: Int, $after: String, $last: Int, $before: String) { conversations(first: $first, after: $after, last: $last, before: $before) { totalCount edges { cursor } } }",
  "query($id: ID!, $first: Int, $after: String) { conversation(id: $id) { messages(first: $first, after: $after) { edges { cursor } } } }",
  "query($q: String!, $after: String, $first: Int, $id: ID) { searchMessages(query: $q, after: $after, first: $first, conversationId: $id) { totalCount } }",
  "mutation($t: String!) { createConversation(input: { title: $t }) { conversation { id } } }",
  "mutation($id: ID!, $t: String!) { renameConversation(input: { id: $id, title: $t }) { conversation { id } } }",
  "mutation($id: ID!) { archiveConversation(input: { id: $id }) { conversation { id } } }",
  "mutation($id: ID!, $m: String, $t: String, $first: Float) { updateConversationSettings(input: { id: $id, model: $m, systemPrompt: $t, temperature: $first }) { conversation { id } } }",
  "mutation($id: ID!) { deleteConversation(input: { id: $id }) { deletedId } }",
  "mutation($id: ID!) { stopGeneration(input: { messageId: $id }) { message { id } } }",
  "subscription($c: String!, $id: ID, $k: String, $m: String) { sendMessage(input: { content: $c, conversationId: $id, clientMessageId: $k, model: $m }) { __typename } }",
  "subscription($id: ID!, $s: Int) { messageStream(messageId: $id, afterSeq: $s) { __typename } }",
];

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "a\u0000b",
    "\ud800",
    "'; DROP TABLE x; --",
    "ü",
    "Ü".repeat(300),
    "%%",
    "{",
  ),
);
const id = (conversation: () => string) =>
  fc.oneof(
    text,
    fc.constant(null),
    fc.integer(),
    fc
      .constantFrom("Conversation", "Message", "ToolCall", "Nope")
      .chain((type) =>
        fc
          .oneof(text, fc.uuid(), fc.stringMatching(/^\d{1,400}$/))
          .map((inner) => encodeGlobalID(type, inner)),
      ),
    fc.constant(0).map(() => conversation()),
  );
const number = fc.oneof(fc.integer(), fc.constantFrom(-1, 0, 101, 2 ** 31, 1e300, 0.5), fc.constant(null));
const variables = (conversation: () => string) =>
  fc.record(
    {
      id: id(conversation),
      ids: fc.array(id(conversation), { maxLength: 4 }),
      first: number,
      last: number,
      s: number,
      after: fc.oneof(text, fc.constant(null)),
      before: fc.oneof(text, fc.constant(null)),
      q: text,
      t: text,
      c: text,
      k: fc.oneof(text, fc.constant(null)),
      m: fc.oneof(text, fc.constant(null)),
    },
    { requiredKeys: [] },
  );

describe.each(testDatabaseKinds())("fuzzing the server on %s", (kind) => {
  let server: TestServer;
  let token: string;
  let conversationId = "";
  beforeAll(async () => {
    server = await startTestServer(kind, {
      RATE_LIMIT_REQUESTS_PER_MINUTE: "100000",
      RATE_LIMIT_ANONYMOUS_PER_MINUTE: "100000",
      RATE_LIMIT_MESSAGES_PER_MINUTE: "100000",
    });
    token = await tokenFor(`fuzz-${randomUUID()}`);
    const created = await server.request(CreateConversation, { title: "fuzz" }, token);
    conversationId = created.data?.createConversation.conversation.id ?? "";
  });
  afterAll(() => server?.close());

  const request = (conversation: () => string) =>
    fc.record({
      method: fc.constantFrom("GET", "POST", "POST", "PUT", "OPTIONS"),
      path: fc.constantFrom("/graphql", "/graphql/stream"),
      auth: fc.constantFrom("valid", "none", "garbage", "Bearer x.y.z"),
      contentType: fc.constantFrom(
        "application/json",
        "application/graphql+json",
        "text/plain",
        "application/x-www-form-urlencoded",
        null,
      ),
      accept: fc.constantFrom("application/json", "text/event-stream", "multipart/mixed", "*/*", null),
      csrf: fc.boolean(),
      forwardedFor: fc.oneof(fc.constant(null), text, fc.ipV4()),
      operation: fc.oneof(fc.constantFrom(...OPERATIONS), text),
      variables: fc.oneof(variables(conversation), fc.jsonValue()),
      extensions: fc.oneof(fc.constant(undefined), fc.jsonValue()),
      raw: fc.oneof(
        fc.constant(null),
        text,
        fc.constantFrom("{", "[]", "null", '{"query":1}', "variables={"),
      ),
    });

  it("never answers 5xx, a stack trace or SQL; refused requests write nothing; the server lives on", async () => {
    await fc.assert(
      fc.asyncProperty(
        request(() => conversationId),
        async (r) => {
          const headers: Record<string, string> = {};
          if (r.auth === "valid") headers.authorization = `Bearer ${token}`;
          else if (r.auth !== "none") headers.authorization = r.auth;
          if (r.contentType) headers["content-type"] = r.contentType;
          if (r.accept) headers.accept = r.accept;
          if (r.csrf) headers["x-graphql-yoga-csrf"] = "1";
          if (r.forwardedFor && /^[\x20-\x7e]*$/.test(r.forwardedFor))
            headers["x-forwarded-for"] = r.forwardedFor;
          const params = { query: r.operation, variables: r.variables, extensions: r.extensions };
          let url = `${server.url}${r.path}`;
          let body: string | undefined;
          if (r.method === "GET") {
            const search = new URLSearchParams({
              query: r.operation,
              variables: JSON.stringify(r.variables),
            });
            if (r.raw) search.set("extensions", r.raw);
            url += `?${search}`;
          } else if (r.method !== "OPTIONS") {
            body = r.raw ?? JSON.stringify(params);
          }
          const before = await rowCounts(server.db.prisma);
          const response = await fetch(url, {
            method: r.method,
            headers,
            body,
            signal: AbortSignal.timeout(15_000),
          });
          const answer = await response.text();
          expect(response.status, answer).toBeLessThan(500);
          for (const leak of LEAKS) expect(answer).not.toMatch(leak);
          // A mutation or send that answered data did write; anything else leaves every table as it was.
          const wrote = WRITES.test(answer);
          if (!wrote) expect(await rowCounts(server.db.prisma)).toEqual(before);
        },
      ),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    const alive = await server.request(CreateConversation, { title: "still here" }, token);
    expect(alive.data?.createConversation.conversation.id).toEqual(expect.any(String));
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  }, 240_000);
});
