import { encodeGlobalID } from "@pothos/plugin-relay";
import fc from "fast-check";
import { parse, print } from "graphql";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config.js";
import { ClientError } from "../../src/core/errors.js";
import { isUuid, parseGlobalId } from "../../src/core/ids.js";
import { cursorId } from "../../src/core/pagination.js";
import { decodeUtf8 } from "../../src/http/body.js";
import { CSRF_HEADERS, isCsrfSuspect } from "../../src/http/csrf.js";
import { withPageSizes } from "../../src/http/operation-limits.js";
import { PersistedOperations } from "../../src/http/persisted-operations.js";
import { secondsUntilNextUtcDay, startOfUtcDay } from "../../src/limits/quota.js";
import { checkSendInput } from "../../src/resolvers/send-input.js";
import { normalizeTitle } from "../../src/resolvers/text.js";

// Property-based checks of the input validation and decoding every request goes through: whatever a
// client sends, the answer is the value or a client error (BAD_USER_INPUT / NOT_FOUND), never a crash.

/** Runs `fn`, returning its result or the client error code it threw; any other throw fails the test. */
function outcome<T>(fn: () => T): { ok: T } | { code: string } {
  try {
    return { ok: fn() };
  } catch (error) {
    if (error instanceof ClientError) return { code: error.code };
    throw error;
  }
}

const text = fc.string({ unit: "binary", maxLength: 300 });
// biome-ignore lint/suspicious/noControlCharactersInRegex: the property is about control characters
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe("message input", () => {
  const config = loadConfig({ MAX_MESSAGE_LENGTH: "120" });

  it("accepts exactly the non-blank messages within the limit, unchanged", () => {
    fc.assert(
      fc.property(text, (content) => {
        const result = outcome(() => checkSendInput({ content }, config));
        const valid = content.trim() !== "" && content.length <= 120;
        if (valid) expect(result).toEqual({ ok: { content, clientMessageId: null, model: null } });
        else expect(result).toEqual({ code: "BAD_USER_INPUT" });
      }),
    );
  });

  it("accepts client message ids of 1 to 128 characters only", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (clientMessageId) => {
        const result = outcome(() => checkSendInput({ content: "hi", clientMessageId }, config));
        const valid = clientMessageId.length >= 1 && clientMessageId.length <= 128;
        expect("ok" in result).toBe(valid);
      }),
    );
  });
});

describe("titles", () => {
  it("come out trimmed, single-line, free of control characters and within the limit, or are refused", () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 100 }), (raw, max) => {
        const result = outcome(() => normalizeTitle(raw, max));
        if ("code" in result) {
          expect(result.code).toBe("BAD_USER_INPUT");
          return;
        }
        const title = result.ok;
        expect(title.length).toBeGreaterThan(0);
        expect(title.length).toBeLessThanOrEqual(max);
        expect(title).toBe(title.trim());
        expect(title).not.toMatch(/\s\s|\n/);
        expect(title).not.toMatch(CONTROL);
        expect(normalizeTitle(title, max)).toBe(title);
      }),
    );
  });
});

describe("global ids", () => {
  it("decode any string to the expected type's UUID, or to BAD_USER_INPUT / NOT_FOUND", () => {
    fc.assert(
      fc.property(fc.oneof(text, fc.base64String({ maxLength: 80 })), (id) => {
        const result = outcome(() => parseGlobalId(id, "Conversation"));
        if ("ok" in result) expect(isUuid(result.ok)).toBe(true);
        else expect(["BAD_USER_INPUT", "NOT_FOUND"]).toContain(result.code);
      }),
    );
  });

  it("round-trip for their own type and are NOT_FOUND for any other (forged types)", () => {
    const typenames = fc.oneof(
      fc.constantFrom("Conversation", "Message", "ToolCall", "Viewer"),
      fc.stringMatching(/^[A-Za-z]{1,20}$/),
    );
    fc.assert(
      fc.property(fc.uuid(), typenames, (uuid, typename) => {
        expect(parseGlobalId(encodeGlobalID("Conversation", uuid), "Conversation")).toBe(uuid);
        const forged = outcome(() => parseGlobalId(encodeGlobalID(typename, uuid), "Conversation"));
        if (typename === "Conversation") expect(forged).toEqual({ ok: uuid });
        else expect(forged).toEqual({ code: "NOT_FOUND" });
      }),
    );
  });
});

describe("cursors", () => {
  it("yield an id only when the decoded cursor holds a UUID, else BAD_USER_INPUT", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uuid(), fc.anything()), (id) => {
        const result = outcome(() => cursorId({ id }));
        if (isUuid(id)) expect(result).toEqual({ ok: id });
        else expect(result).toEqual({ code: "BAD_USER_INPUT" });
      }),
    );
    expect(cursorId(undefined)).toBeNull();
  });
});

describe("request bodies", () => {
  it("decode as UTF-8 exactly when the bytes are valid UTF-8", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const result = outcome(() => decodeUtf8(bytes));
        const valid = Buffer.from(Buffer.from(bytes).toString("utf8"), "utf8").equals(Buffer.from(bytes));
        if (valid) expect(result).toEqual({ ok: Buffer.from(bytes).toString("utf8") });
        else expect(result).toEqual({ code: "BAD_USER_INPUT" });
      }),
    );
  });

  it("round-trip any string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => {
        expect(decodeUtf8(new TextEncoder().encode(s))).toBe(s);
      }),
    );
  });
});

describe("CSRF rule", () => {
  const method = fc.constantFrom("GET", "POST", "HEAD", "PUT", "DELETE", "PATCH");
  const contentType = fc.constantFrom(
    undefined,
    "application/json",
    "application/graphql-response+json",
    "text/plain",
    "text/plain;charset=utf-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
  );
  const header = fc.option(fc.constantFrom(...CSRF_HEADERS), { nil: undefined });

  it("suspects exactly the requests a browser sends without a preflight", () => {
    fc.assert(
      fc.property(method, contentType, header, (m, type, extra) => {
        const headers = new Headers();
        if (type) headers.set("content-type", type);
        if (extra) headers.set(extra, "1");
        const request = new Request("http://x/graphql", { method: m, headers, body: null });
        const simpleMethod = ["GET", "HEAD", "POST"].includes(m);
        const simpleType = type === undefined || /^(text\/plain|application\/x-www|multipart\/)/.test(type);
        expect(isCsrfSuspect(request)).toBe(simpleMethod && simpleType && extra === undefined);
      }),
    );
  });
});

describe("page sizes in variables", () => {
  it("are put into the document as literals, the rest unchanged", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 }), (a, b) => {
        const document = parse(
          "query Q($a: Int, $b: Int, $c: String) { conversations(first: $a, after: $c) { edges { node { messages(last: $b) { totalCount } } } } }",
        );
        const printed = print(withPageSizes(document, { a, b, c: "x" }));
        expect(printed).toContain(`conversations(first: ${a}, after: $c)`);
        expect(printed).toContain(`messages(last: ${b})`);
      }),
    );
  });
});

describe("persisted operations", () => {
  const hash = "a".repeat(64);
  const documents = new Map([[`sha256:${hash}`, "{ viewer { id } }"]]);

  it("in allow-list mode run only listed documents, whatever else the request says", () => {
    const only = new PersistedOperations(documents, true);
    fc.assert(
      fc.property(
        fc.option(fc.string(), { nil: undefined }),
        fc.option(fc.oneof(fc.constant(hash), fc.stringMatching(/^[0-9a-f]{64}$/)), { nil: undefined }),
        (query, sha256Hash) => {
          const extensions = sha256Hash ? { persistedQuery: { version: 1, sha256Hash } } : undefined;
          const result = outcome(() => only.resolve({ query, extensions }));
          if (sha256Hash === hash) expect(result).toEqual({ ok: "{ viewer { id } }" });
          else expect(result).toEqual({ code: "BAD_USER_INPUT" });
        },
      ),
    );
    const prefixed = { persistedQuery: { version: 1, sha256Hash: `sha256:${hash}` } };
    expect(only.resolve({ extensions: prefixed })).toBe("{ viewer { id } }");
  });

  it("otherwise run the request's own document unless it names a listed one", () => {
    const open = new PersistedOperations(documents, false);
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (query) => {
        expect(open.resolve({ query })).toBe(query);
        const named = { persistedQuery: { version: 1, sha256Hash: hash } };
        expect(open.resolve({ query, extensions: named })).toBe("{ viewer { id } }");
      }),
    );
  });
});

describe("daily quota windows", () => {
  it("start at midnight UTC and renew within a day", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("2000-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }),
        (now) => {
          const start = startOfUtcDay(now);
          expect(start.getTime()).toBeLessThanOrEqual(now.getTime());
          expect(now.getTime() - start.getTime()).toBeLessThan(86_400_000);
          expect(start.toISOString()).toMatch(/T00:00:00\.000Z$/);
          const wait = secondsUntilNextUtcDay(now);
          expect(wait).toBeGreaterThanOrEqual(0);
          expect(wait).toBeLessThanOrEqual(86_400);
          expect(startOfUtcDay(new Date(now.getTime() + wait * 1000 + 1)).getTime()).toBe(
            start.getTime() + 86_400_000,
          );
        },
      ),
    );
  });
});
