import { createParser, type EventSourceParser } from "eventsource-parser";
import { APIError } from "openai";
import type { ChatCompletionChunk } from "openai/resources/chat/completions";

/**
 * The chunks of a streamed chat completion, read from the raw bytes of its server-sent-events body: what the
 * `openai` package's `Stream` does, with one streaming UTF-8 decoder, one SSE parser and one `JSON.parse` per
 * event, and every chunk of a body read returned at once (the SDK's `Stream` takes several nested async
 * generator steps and buffer copies per chunk: a large share of a busy server's CPU).
 */
export class ChunkDecoder {
  /** Set by `[DONE]` (data after it is ignored, as the SDK ignores it) or by a failure. */
  private done = false;
  private readonly text = new TextDecoder();
  private readonly parser: EventSourceParser;
  private chunks: ChatCompletionChunk[] = [];
  private failure: unknown;

  constructor() {
    this.parser = createParser({
      onEvent: ({ data }) => {
        if (this.done) return;
        if (data.startsWith("[DONE]")) {
          this.done = true;
          return;
        }
        try {
          const chunk = JSON.parse(data);
          // A failure after the response started (overload, content filter) comes as an event of its own.
          // Without the response's headers, which nothing reads from it (a reply's error is its message):
          // kept for a failure that may come, they would be held as long as every reply streams.
          if (chunk?.error) throw new APIError(undefined, chunk.error, undefined, undefined);
          this.chunks.push(chunk);
        } catch (error) {
          // The chunks before it still count (the SDK yields them before it throws).
          this.failure = error;
          this.done = true;
        }
      },
    });
  }

  /**
   * The chunks these bytes complete, in order; bytes may end anywhere (in an event, a line or a character).
   * After an error event or data that is not JSON: the chunks before it, then {@link throwIfFailed} throws.
   */
  decode(bytes: Uint8Array): ChatCompletionChunk[] {
    this.parser.feed(this.text.decode(bytes, { stream: true }));
    const chunks = this.chunks;
    this.chunks = [];
    return chunks;
  }

  /** Throws the `APIError` of an error event, or the `SyntaxError` of data that is not JSON. */
  throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
