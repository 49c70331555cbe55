import { APIError } from "openai";
import { describe, expect, it } from "vitest";
import { ChunkDecoder } from "../../src/agent/model/openai-sse.js";

const bytes = (text: string) => new TextEncoder().encode(text);
const chunk = (content: string) => ({ choices: [{ index: 0, delta: { content }, finish_reason: null }] });
const event = (content: string) => `data: ${JSON.stringify(chunk(content))}\n\n`;

/** Feeds `parts` (strings or raw bytes) one read at a time and returns what each read gave. */
function decodeReads(parts: (string | Uint8Array)[]) {
  const decoder = new ChunkDecoder();
  return parts.map((part) => decoder.decode(typeof part === "string" ? bytes(part) : part));
}

describe("ChunkDecoder", () => {
  it("gives every chunk a read completes, together, in order", () => {
    expect(decodeReads([event("a") + event("b"), event("c")])).toEqual([
      [chunk("a"), chunk("b")],
      [chunk("c")],
    ]);
  });

  it("puts back events, lines and characters split across reads", () => {
    const whole = bytes(event("héllo 👋") + event("ünïcode"));
    const reads = Array.from(whole, (byte) => Uint8Array.of(byte));
    expect(decodeReads(reads).flat()).toEqual([chunk("héllo 👋"), chunk("ünïcode")]);
    // The emoji's four bytes across two reads: nothing until its event ends.
    const emoji = whole.indexOf(0xf0);
    expect(decodeReads([whole.subarray(0, emoji + 2), whole.subarray(emoji + 2)])).toEqual([
      [],
      [chunk("héllo 👋"), chunk("ünïcode")],
    ]);
  });

  it("reads CRLF and CR line ends, skips comments and other fields, and joins multi-line data", () => {
    const crlf = `: keep-alive\r\nid: 7\r\nevent: message\r\ndata: ${JSON.stringify(chunk("a"))}\r\n\r\n`;
    const cr = `data: ${JSON.stringify(chunk("b"))}\r\r`;
    const multiLine = `data: {"choices":\ndata: []}\n\n`;
    expect(decodeReads([crlf + cr + multiLine, ": ping\n\n"])).toEqual([
      [chunk("a"), chunk("b"), { choices: [] }],
      [],
    ]);
  });

  it("ignores what follows [DONE]", () => {
    expect(decodeReads([`${event("a")}data: [DONE]\n\n${event("late")}`])).toEqual([[chunk("a")]]);
  });

  it("gives the chunks before an error event, then throws it as the SDK's APIError", () => {
    const decoder = new ChunkDecoder();
    const error = `data: {"error":{"message":"overloaded","type":"server_error"}}\n\n`;
    expect(decoder.decode(bytes(event("a") + error + event("after")))).toEqual([chunk("a")]);
    expect(() => decoder.throwIfFailed()).toThrow(APIError);
    expect(() => decoder.throwIfFailed()).toThrow("overloaded");
    expect(decoder.decode(bytes(event("more")))).toEqual([]);
  });

  it("throws the SyntaxError of data that is not JSON", () => {
    const decoder = new ChunkDecoder();
    expect(decoder.decode(bytes("data: {not json\n\n"))).toEqual([]);
    expect(() => decoder.throwIfFailed()).toThrow(SyntaxError);
  });
});
