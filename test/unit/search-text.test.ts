import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/core/config.js";
import { ClientError } from "../../src/core/errors.js";
import { decodeSearchCursor, encodeSearchCursor, searchScope } from "../../src/search/cursor.js";
import { isFragment, MAX_QUERY_LENGTH, parseSearchQuery } from "../../src/search/query.js";
import {
  escapeHtml,
  headlineToHtml,
  LESS_THAN,
  MARK_END,
  MARK_START,
  textSnippet,
} from "../../src/search/snippet.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof ClientError ? error.code : `not a ClientError: ${String(error)}`;
  }
  return undefined;
}

describe("parseSearchQuery", () => {
  it("reads words, phrases, exclusions and or", () => {
    expect(parseSearchQuery('  deploy "connection timeout" -docker -"old cluster" ')).toEqual({
      text: 'deploy "connection timeout" -docker -"old cluster"',
      terms: ["deploy", "connection timeout"],
      excluded: 'docker or "old cluster"',
      hasOr: false,
    });
    expect(parseSearchQuery("cats or dogs").hasOr).toBe(true);
    expect(parseSearchQuery("cats OR dogs").terms).toEqual(["cats", "dogs"]);
  });

  it("treats `or` without two sides as nothing, like websearch_to_tsquery", () => {
    expect(parseSearchQuery("cats or").hasOr).toBe(false);
    expect(parseSearchQuery("or cats").hasOr).toBe(false);
    expect(parseSearchQuery("cats dogs or").hasOr).toBe(false);
  });

  it("never fails on syntax: unclosed quotes, lone operators, tsquery symbols", () => {
    expect(parseSearchQuery('"unclosed phrase').terms).toEqual(["unclosed phrase"]);
    expect(parseSearchQuery("-").terms).toEqual(["-"]);
    expect(parseSearchQuery("a & b | !c :* (d)").terms).toEqual(["a", "&", "b", "|", "!c", ":*", "d"]);
    expect(parseSearchQuery("foo-bar").terms).toEqual(["foo-bar"]);
  });

  it("drops sentence punctuation around words but keeps symbols that belong to names", () => {
    expect(parseSearchQuery("error? (timeout), kubernetes.").terms).toEqual([
      "error",
      "timeout",
      "kubernetes",
    ]);
    expect(parseSearchQuery("C# C++ .NET $HOME #123 !!!").terms).toEqual([
      "C#",
      "C++",
      ".NET",
      "$HOME",
      "#123",
      "!!!",
    ]);
  });

  it("replaces control characters, lone surrogates and the snippet marks by spaces", () => {
    expect(parseSearchQuery(`a\u0000b\u0007c\ud800d${MARK_START}e`).text).toBe("a b c d e");
  });

  it("refuses empty, whitespace-only, over-long and exclusion-only queries with BAD_USER_INPUT", () => {
    expect(codeOf(() => parseSearchQuery(""))).toBe("BAD_USER_INPUT");
    expect(codeOf(() => parseSearchQuery(" \t\n "))).toBe("BAD_USER_INPUT");
    expect(codeOf(() => parseSearchQuery("\u0000"))).toBe("BAD_USER_INPUT");
    expect(codeOf(() => parseSearchQuery("x".repeat(MAX_QUERY_LENGTH + 1)))).toBe("BAD_USER_INPUT");
    expect(codeOf(() => parseSearchQuery('-spam -"ads"'))).toBe("BAD_USER_INPUT");
    expect(codeOf(() => parseSearchQuery("x".repeat(MAX_QUERY_LENGTH)))).toBeUndefined();
  });

  it("counts characters, not UTF-16 units, against the limit", () => {
    expect(codeOf(() => parseSearchQuery("😀".repeat(MAX_QUERY_LENGTH)))).toBeUndefined();
  });
});

describe("isFragment", () => {
  it("needs three letters or digits in a row", () => {
    expect(["kube", "UserBy", "ERR_CONN", "v123", "date.ts", "ünï"].every(isFragment)).toBe(true);
    expect(["go", "C#", "C++", "a.b", "!!!", "%", "ab_cd"].some(isFragment)).toBe(false);
  });
});

describe("snippets", () => {
  it("escapes everything HTML cares about", () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;",
    );
  });

  it("turns a ts_headline result into escaped HTML with <mark>", () => {
    const headline = `${LESS_THAN}script>alert("x")${LESS_THAN}/script> ${MARK_START}hello${MARK_END} & bye`;
    expect(headlineToHtml(headline)).toBe(
      "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; <mark>hello</mark> &amp; bye",
    );
    expect(headlineToHtml(`${MARK_START}open`)).toBe("<mark>open</mark>");
  });

  it("marks fragments inside words and short terms only as whole words, escaping the rest", () => {
    expect(textSnippet("Call getUserById(<id>) on go-live; goal: ago", ["UserBy", "go"])).toBe(
      "Call get<mark>UserBy</mark>Id(&lt;id&gt;) on <mark>go</mark>-live; goal: ago",
    );
  });

  it("cuts long text around the first match, on word boundaries, with ellipses", () => {
    const words = Array.from({ length: 200 }, (_, i) => `word${i}`);
    words[120] = "needle";
    const snippet = textSnippet(words.join(" "), ["needle"]);
    expect(snippet.startsWith("… ")).toBe(true);
    expect(snippet.endsWith(" …")).toBe(true);
    expect(snippet).toContain("<mark>needle</mark>");
    expect(snippet.length).toBeLessThan(230);
    expect(snippet).toMatch(/^… word\d+ /);
  });

  it("never cuts a surrogate pair in half", () => {
    const snippet = textSnippet(`${"😀".repeat(150)} needle`, ["needle"], 50);
    expect(snippet).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
  });
});

describe("search cursors", () => {
  const scope = searchScope(["u1", "query", null, false]);
  const position = {
    rank: 0.1 + 0.2,
    createdAt: new Date("2025-01-02T03:04:05.678Z"),
    id: "0190c1c4-9b9e-7c4e-8a2a-0a1b2c3d4e5f",
  };

  it("round-trips a position exactly", () => {
    expect(decodeSearchCursor(encodeSearchCursor(position, scope), scope)).toEqual(position);
  });

  it("refuses a cursor from another search, and garbage, with BAD_USER_INPUT", () => {
    const cursor = encodeSearchCursor(position, scope);
    expect(codeOf(() => decodeSearchCursor(cursor, searchScope(["u1", "other", null, false])))).toBe(
      "BAD_USER_INPUT",
    );
    for (const bad of [
      "",
      "abc",
      Buffer.from("[1,2,3]").toString("base64url"),
      Buffer.from('["s1","x","NaN",1,"id"]').toString("base64url"),
    ]) {
      expect(codeOf(() => decodeSearchCursor(bad, scope))).toBe("BAD_USER_INPUT");
    }
  });
});

describe("SEARCH_LANGUAGE", () => {
  it("defaults to english and names a bad value", () => {
    expect(loadConfig({}).search.language).toBe("english");
    expect(loadConfig({ SEARCH_LANGUAGE: "german" }).search.language).toBe("german");
    expect(() => loadConfig({ SEARCH_LANGUAGE: "english'; drop" })).toThrow(
      /SEARCH_LANGUAGE: must name a text-search/,
    );
  });
});
