import { readFileSync } from "node:fs";
import { print } from "graphql";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MessageStream, ViewerQuery } from "../utils/operations.js";
import { startTestServer, type TestServer, tokenFor } from "../utils/server.js";
import { codes, endpoints, postGraphQL, rowCounts, send } from "./helpers.js";

// With PERSISTED_OPERATIONS_ONLY, a production server runs only the documents its clients were built with
// (the codegen client preset's persisted-documents.json); anything else is refused on every endpoint.

const file = new URL("../generated/persisted-documents.json", import.meta.url);
const documents = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
const hashOf = (document: { __meta__?: { hash?: string } }) => {
  const hash = document.__meta__?.hash;
  if (!hash) throw new Error("codegen did not embed a hash: run npm run codegen");
  return hash;
};

describe("persisted operations only", () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer("pglite", {
      PERSISTED_OPERATIONS_FILE: file.pathname,
      PERSISTED_OPERATIONS_ONLY: "true",
    });
    token = await tokenFor("persisted-user");
  });
  afterAll(() => server?.close());

  it("loads every operation the client preset generated", () => {
    expect(server.runtime.persisted?.size).toBe(Object.keys(documents).length);
    expect(documents[hashOf(ViewerQuery as never)]).toBeDefined();
  });

  describe.each(endpoints)("on %s", (path) => {
    it("runs a persisted operation sent by its hash (with or without the sha256: prefix)", async () => {
      const hash = hashOf(ViewerQuery as never);
      for (const sha256Hash of [hash, hash.replace(/^sha256:/, "")]) {
        const answer = await postGraphQL(server, path, token, undefined as never, undefined, {
          extensions: { persistedQuery: { version: 1, sha256Hash } },
        });
        expect(answer.body).toMatchObject({ data: { viewer: { id: "persisted-user" } } });
      }
    });

    it("runs a persisted subscription by its hash", async () => {
      const answer = await postGraphQL(
        server,
        path,
        token,
        undefined as never,
        { messageId: "nope" },
        {
          extensions: { persistedQuery: { version: 1, sha256Hash: hashOf(MessageStream as never) } },
        },
      );
      // The document ran: the resolver refused the id, not the allow-list.
      expect(codes(answer.body)).toEqual(["BAD_USER_INPUT"]);
      expect(answer.body.errors?.[0]?.extensions?.field).toBe("messageId");
    });

    it("refuses an arbitrary document, even one identical to a persisted one, with BAD_USER_INPUT", async () => {
      const before = await rowCounts(server.db.prisma);
      for (const query of [
        print(ViewerQuery),
        "mutation { createConversation(input: {}) { conversation { id } } }",
      ]) {
        const answer = await postGraphQL(server, path, token, query);
        expect(codes(answer.body)).toEqual(["BAD_USER_INPUT"]);
        expect(answer.body.errors?.[0]?.message).toMatch(/persisted/i);
      }
      expect(await rowCounts(server.db.prisma)).toEqual(before);
    });

    it("refuses an unknown hash with BAD_USER_INPUT", async () => {
      const answer = await postGraphQL(server, path, token, "{ viewer { id } }", undefined, {
        extensions: { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } },
      });
      expect(codes(answer.body)).toEqual(["BAD_USER_INPUT"]);
      expect(answer.body.errors?.[0]?.message).toMatch(/unknown persisted operation/i);
    });
  });

  it("refuses an arbitrary document sent with GET as well", async () => {
    const answer = await send(server, "/graphql", {
      method: "GET",
      headers: { authorization: `Bearer ${token}`, accept: "application/json" },
      query: `query=${encodeURIComponent("{ viewer { id } }")}`,
    });
    expect(codes(answer.body)).toEqual(["BAD_USER_INPUT"]);
  });
});
