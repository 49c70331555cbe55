import { describe, expect, it } from "vitest";
import { imageTokens, modelImageSize } from "../../src/agent/model/attachments.js";
import { fitHistory, messageTokens } from "../../src/agent/model/history.js";
import { toOpenAIMessages } from "../../src/agent/model/openai-mapping.js";
import type { ChatMessage, ModelAttachment } from "../../src/agent/model/provider.js";

const image = (name: string, width = 1024, height = 768): ModelAttachment => ({
  kind: "image",
  name,
  dataUrl: "data:image/jpeg;base64,AAAA",
  width,
  height,
});
const file = (name: string, text: string): ModelAttachment => ({ kind: "file", name, text });
const user = (content: string, attachments?: ModelAttachment[]): ChatMessage => ({
  role: "user",
  content,
  ...(attachments && { attachments }),
});
const note = (name: string): ModelAttachment => ({
  kind: "note",
  name,
  text: `[attachment: ${name} omitted]`,
});

describe("images for the model", () => {
  it("fit 2048 x 2048, then the short side 768, never enlarged", () => {
    expect(modelImageSize(4000, 2000)).toEqual({ width: 1536, height: 768 });
    expect(modelImageSize(1000, 3000)).toEqual({ width: 683, height: 2048 });
    expect(modelImageSize(2048, 4096)).toEqual({ width: 768, height: 1536 });
    expect(modelImageSize(300, 200)).toEqual({ width: 300, height: 200 });
  });

  it("cost tokens by OpenAI's tile formula", () => {
    // 1024 x 1024 -> 768 x 768: 4 tiles (OpenAI's own example: 765 tokens).
    expect(imageTokens(1024, 1024)).toBe(765);
    // 2048 x 4096 -> 768 x 1536: 6 tiles.
    expect(imageTokens(2048, 4096)).toBe(1105);
    expect(imageTokens(100, 100)).toBe(255);
  });
});

describe("attachments in the history", () => {
  it("map to content parts: the text, then each image or file's text in order", () => {
    const [mapped] = toOpenAIMessages([user("look", [image("a.png"), file("b.txt", "bee"), note("c.pdf")])]);
    expect(mapped).toEqual({
      role: "user",
      content: [
        { type: "text", text: "look" },
        { type: "image_url", image_url: { url: "data:image/jpeg;base64,AAAA" } },
        { type: "text", text: 'Attached file "b.txt":\nbee' },
        { type: "text", text: "[attachment: c.pdf omitted]" },
      ],
    });
    expect(toOpenAIMessages([user("plain")])).toEqual([{ role: "user", content: "plain" }]);
  });

  it("count their tokens: images by tiles, files by their text", async () => {
    const plain = await messageTokens(user("look"));
    expect(await messageTokens(user("look", [image("a.png")]))).toBe(plain + imageTokens(1024, 768));
    expect(await messageTokens(user("look", [file("b.txt", "one two three")]))).toBeGreaterThan(plain + 3);
  });

  it("give way oldest first to notes, then whole messages go; the newest message keeps its own", async () => {
    const big = "word ".repeat(400);
    const messages: ChatMessage[] = [
      user("first", [file("old.txt", big), image("old.png")]),
      { role: "assistant", content: "ok" },
      user("second", [file("mid.txt", big)]),
      { role: "assistant", content: "ok" },
      user("third", [image("new.png"), file("new.txt", big)]),
    ];
    const all = (await Promise.all(messages.map(messageTokens))).reduce((a, b) => a + b, 0);
    expect(await fitHistory(undefined, messages, all)).toEqual(messages);

    // Just short of everything: the oldest file gives way to a note first.
    const fitted = await fitHistory(undefined, messages, all - 10);
    expect(fitted[0]).toEqual(user("first", [note("old.txt"), image("old.png")]));
    expect(fitted.slice(1)).toEqual(messages.slice(1));

    // Tighter: every earlier attachment is a note, the newest message's are whole.
    const newest = await messageTokens(messages[4] as ChatMessage);
    const notes = [
      user("first", [note("old.txt"), note("old.png")]),
      messages[1] as ChatMessage,
      user("second", [note("mid.txt")]),
      messages[3] as ChatMessage,
    ];
    let noted = newest;
    for (const m of notes) noted += await messageTokens(m);
    expect(await fitHistory(undefined, messages, noted)).toEqual([...notes, messages[4]]);

    // Tighter still: the oldest messages go whole.
    expect(await fitHistory(undefined, messages, newest + 1)).toEqual([messages[4]]);
  });
});
