import { describe, expect, it } from "vitest";
import { toChatMessages } from "../../src/agent/runs/conversation-history.js";
import { resultText } from "../../src/agent/tools/mcp/content.js";
import {
  fetchWithUserHeader,
  USER_META_KEY,
  userFromMeta,
  userMeta,
} from "../../src/agent/tools/mcp/identity.js";
import { toolModelName } from "../../src/agent/tools/mcp/names.js";
import { ToolCallAssembler } from "../../src/agent/tools/tool-call-assembler.js";
import { resultForModel, resultForStorage } from "../../src/agent/tools/tool-result.js";
import type { Message } from "../../src/db/columns.js";
import type { ToolCall } from "../../src/db/generated/prisma/client.js";

describe("toolModelName", () => {
  it("namespaces by server and keeps valid names as they are", () => {
    expect(toolModelName("weather", "get_forecast")).toBe("weather__get_forecast");
    expect(toolModelName("git-hub", "list-issues")).toBe("git-hub__list-issues");
  });

  it("keeps to OpenAI's rule, with a hash so that distinct tools stay distinct", () => {
    const dotted = toolModelName("my.server", "read file");
    const underscored = toolModelName("my_server", "read_file");
    expect(dotted).toMatch(/^my_server__read_file_[0-9a-f]{8}$/);
    expect(underscored).toBe("my_server__read_file");
    const long = toolModelName("server", "x".repeat(100));
    expect(long).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(long).not.toBe(toolModelName("server", "x".repeat(101)));
    expect(toolModelName("my.server", "read file")).toBe(dotted);
  });
});

describe("ToolCallAssembler", () => {
  it("puts interleaved fragments back together by index, in index order", () => {
    const a = new ToolCallAssembler();
    a.add({ type: "toolCallDelta", index: 1, id: "b", name: "second", arguments: '{"x"' });
    a.add({ type: "toolCallDelta", index: 0, id: "a", name: "first", arguments: "" });
    a.add({ type: "toolCallDelta", index: 1, arguments: ":1}" });
    a.add({ type: "toolCallDelta", index: 0, arguments: "{}" });
    expect(a.calls()).toEqual([
      { id: "a", name: "first", arguments: "{}" },
      { id: "b", name: "second", arguments: '{"x":1}' },
    ]);
  });

  it("gives a call without an id one of its own", () => {
    const a = new ToolCallAssembler();
    a.add({ type: "toolCallDelta", index: 0, name: "t" });
    expect(a.calls()[0]?.id).toMatch(/^call_[0-9a-f]{32}$/);
  });
});

describe("tool results", () => {
  it("truncates for the model with a marker saying how much is missing", () => {
    expect(resultForModel("short", 10)).toBe("short");
    expect(resultForModel("abcdefghij", 4)).toBe("abcd\n[… truncated: 6 of 10 characters not shown]");
  });

  it("stores whole up to the (larger) storage limit", () => {
    expect(resultForStorage("abcdefghij", 10)).toBe("abcdefghij");
    expect(resultForStorage("abcdefghij", 3)).toBe("abc\n[… truncated for storage: 10 characters in total]");
  });

  it("turns MCP content into text a chat model can read", () => {
    expect(
      resultText({
        content: [
          { type: "text", text: "line one" },
          { type: "image", data: "aGVsbG8=", mimeType: "image/png" },
          { type: "resource", resource: { uri: "file:///a.txt", text: "file text" } },
          { type: "resource", resource: { uri: "file:///b.bin", blob: "AAAA", mimeType: "application/zip" } },
          { type: "resource_link", uri: "file:///c", name: "c" },
        ],
      }),
    ).toBe(
      [
        "line one",
        "[image (image/png), 6 bytes, not shown]",
        "file text",
        "[binary resource file:///b.bin (application/zip)]",
        "[resource link: c file:///c]",
      ].join("\n"),
    );
    expect(resultText({ content: [], structuredContent: { temperature: 21 } })).toBe('{"temperature":21}');
  });
});

describe("user identity for tool servers", () => {
  it("round-trips through _meta", () => {
    expect(userMeta("u1")).toEqual({ [USER_META_KEY]: { id: "u1" } });
    expect(userFromMeta(userMeta("u1"))).toBe("u1");
    expect(userFromMeta({ [USER_META_KEY]: { id: 5 } })).toBeUndefined();
    expect(userFromMeta(undefined)).toBeUndefined();
  });

  it("sets the header from each request's own _meta and strips it from requests made for nobody", async () => {
    const seen: (string | null)[] = [];
    const fetchLike = fetchWithUserHeader("X-Acting-User", async (_url, init) => {
      seen.push(new Headers(init?.headers).get("x-acting-user"));
      return new Response(null, { status: 202 });
    });
    const call = (meta?: Record<string, unknown>) =>
      fetchLike("http://tools.example/mcp", {
        method: "POST",
        headers: { "X-Acting-User": "configured-statically", accept: "application/json" },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "tools/call",
          params: { name: "t", _meta: meta },
        }),
      });
    await call(userMeta("alice"));
    await call(userMeta("bob"));
    await call(undefined);
    expect(seen).toEqual(["alice", "bob", null]);
  });
});

describe("stored tool calls replayed as history", () => {
  const message = (over: Partial<Message>, toolCalls: Partial<ToolCall>[] = []) =>
    ({
      role: "ASSISTANT",
      status: "COMPLETE",
      content: "",
      ...over,
      toolCalls: toolCalls.map((c, position) => ({
        position,
        round: 0,
        textOffset: 0,
        isError: false,
        ...c,
      })),
    }) as Message & { toolCalls: ToolCall[] };

  it("splits the reply into rounds by text offset, with model names, raw malformed arguments and truncated results", () => {
    const history = toChatMessages(
      [
        message({ role: "USER", content: "go" }),
        message({ content: "A.B.done" }, [
          {
            round: 0,
            textOffset: 2,
            callId: "c1",
            server: "s",
            name: "t",
            arguments: { q: 1 },
            result: "x".repeat(30),
          },
          {
            round: 0,
            textOffset: 2,
            callId: "c2",
            server: "",
            name: "ghost",
            arguments: "{oops",
            result: "Unknown",
          },
          { round: 1, textOffset: 4, callId: "c3", server: "s", name: "t", arguments: {}, result: null },
        ]),
      ],
      { toolName: ({ server, name }) => (server ? `${server}__${name}` : name), resultMaxChars: 10 },
    );
    expect(history).toEqual([
      { role: "user", content: "go" },
      {
        role: "assistant",
        content: "A.",
        toolCalls: [
          { id: "c1", name: "s__t", arguments: '{"q":1}' },
          { id: "c2", name: "ghost", arguments: "{oops" },
        ],
      },
      { role: "tool", toolCallId: "c1", content: resultForModel("x".repeat(30), 10) },
      { role: "tool", toolCallId: "c2", content: "Unknown" },
      { role: "assistant", content: "B.", toolCalls: [{ id: "c3", name: "s__t", arguments: "{}" }] },
      { role: "tool", toolCallId: "c3", content: "(no result)" },
      { role: "assistant", content: "done" },
    ]);
  });
});
