import { setFlagsFromString } from "node:v8";
import { describe, expect, it } from "vitest";
import { RunChannel } from "../../src/agent/runs/channel.js";
import { type Message, withToolCalls } from "../../src/db/columns.js";

// V8's own answer to whether two objects share a hidden class. An object made by a spread and then a
// property the spread lacked gets one of its own (Node 20): per event, a map and its descriptors allocated,
// and every read of it megamorphic. What a reply makes per event or per stream must share them.
setFlagsFromString("--allow-natives-syntax");
const haveSameMap = new Function("a", "b", "return %HaveSameMap(a, b)") as (a: object, b: object) => boolean;

/** Whether all of `objects` share the first one's hidden class. */
const sameShape = (objects: object[]) => objects.every((o) => haveSameMap(o, objects[0] as object));

describe("hidden classes of what a reply makes", () => {
  it("events of one type share one, across replies", () => {
    const events = Array.from({ length: 50 }, (_, i) => {
      const channel = new RunChannel(100);
      return channel.emit({ type: "TextDelta", messageId: `m${i}`, delta: `text ${i}` });
    });
    expect(events[1]).toEqual({ type: "TextDelta", messageId: "m1", delta: "text 1", seq: 1 });
    expect(sameShape(events)).toBe(true);
  });

  it("messages with their tool calls share one", () => {
    const row = (i: number) =>
      JSON.parse(JSON.stringify({ id: `m${i}`, content: `c${i}`, status: "STREAMING" }));
    const messages = Array.from({ length: 50 }, (_, i) => withToolCalls(row(i) as Message, []));
    expect(messages[3]).toEqual({ id: "m3", content: "c3", status: "STREAMING", toolCalls: [] });
    expect(sameShape(messages)).toBe(true);
  });
});
