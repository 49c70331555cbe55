import { describe, expect, it } from "vitest";
import { fromChatGpt } from "../../src/resolvers/exchange/chatgpt.js";

// The mapping of a ChatGPT export's conversation to a tree, on the shapes real exports take at the edges.

const text = (role: string, content: string, extra: Record<string, unknown> = {}) => ({
  author: { role },
  create_time: null,
  content: { content_type: "text", parts: [content] },
  metadata: {},
  ...extra,
});

function conversation(mapping: Record<string, unknown>, currentNode: string) {
  return { title: "T", create_time: 1_700_000_000, update_time: null, mapping, current_node: currentNode };
}

describe("ChatGPT conversations.json mapping", () => {
  it("ends the active path at the nearest kept ancestor of a hidden current node", () => {
    const { tree, skipped } = fromChatGpt(
      conversation(
        {
          r: { message: null, parent: null, children: ["u"] },
          u: { message: text("user", "hi"), parent: "r", children: ["a"] },
          a: { message: text("assistant", "hello"), parent: "u", children: ["h"] },
          h: {
            message: text("assistant", "secret", {
              metadata: { is_visually_hidden_from_conversation: true },
            }),
            parent: "a",
            children: [],
          },
        },
        "h",
      ),
      0,
      200,
    );
    expect(tree.activeLeafKey).toBe("a");
    expect(tree.messages.map((m) => m.content)).toEqual(["hi", "hello"]);
    expect(skipped).toBe(1);
  });

  it("gives a message without a time its parent's, and the conversation's to the first", () => {
    const { tree } = fromChatGpt(
      conversation(
        {
          u: { message: text("user", "hi"), parent: null, children: ["a"] },
          a: {
            message: { ...text("assistant", "yo"), create_time: 1_700_000_100.5 },
            parent: "u",
            children: ["b"],
          },
          b: { message: text("user", "and?"), parent: "a", children: [] },
        },
        "b",
      ),
      0,
      200,
    );
    expect(tree.messages.map((m) => m.createdAt.toISOString())).toEqual([
      "2023-11-14T22:13:20.000Z",
      "2023-11-14T22:15:00.500Z",
      "2023-11-14T22:15:00.500Z",
    ]);
  });

  it("survives a cycle and a parent missing from the mapping (a root then)", () => {
    const { tree } = fromChatGpt(
      conversation(
        {
          x: { message: text("user", "orphan"), parent: "gone", children: ["y"] },
          y: { message: text("assistant", "reply"), parent: "x", children: ["x"] },
        },
        "y",
      ),
      0,
      200,
    );
    expect(tree.messages.map((m) => [m.content, m.parentKey])).toEqual([
      ["orphan", null],
      ["reply", "x"],
    ]);
    expect(tree.activeLeafKey).toBe("y");
  });

  it("names the conversation and field of a malformed one, and titles an untitled one", () => {
    expect(() =>
      fromChatGpt({ title: "T", create_time: "yesterday", mapping: {}, current_node: "a" }, 4, 200),
    ).toThrow(/conversation 4\.create_time/);
    const { tree } = fromChatGpt(
      conversation({ u: { message: text("user", "hi"), parent: null, children: [] } }, "u"),
      0,
      5,
    );
    expect(tree.title).toBe("T");
    expect(
      fromChatGpt({ ...conversation({}, "u"), mapping: { u: {} }, title: null }, 0, 200).tree.title,
    ).toBe("Imported conversation");
  });
});
