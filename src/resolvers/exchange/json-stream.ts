import { Readable } from "node:stream";
import { Assembler } from "stream-json/assembler.js";
import { parser } from "stream-json/parser.js";
import { BadUserInputError } from "../../core/errors.js";

type Token = parser.Token;

/** A refused import file: BAD_USER_INPUT on the `file` argument, the message saying what and where. */
export function badFile(message: string): BadUserInputError {
  return new BadUserInputError(`Import refused: ${message}`, "file");
}

/**
 * The chunks of a web stream as Buffers. Read by hand: yoga's File streams are its fetch implementation's
 * ReadableStream, which Node's `Readable.fromWeb` refuses.
 */
async function* chunksOf(bytes: ReadableStream<Uint8Array>): AsyncGenerator<Buffer> {
  const reader = bytes.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
  } finally {
    reader.releaseLock();
  }
}

/** An item of the streamed array (`key` null), or an entry of the streamed object (`key` its name). */
export interface JsonItem {
  index: number;
  key: string | null;
  value: unknown;
}

/**
 * The items of one array in a JSON file, each parsed alone as it arrives: the array at the top level
 * (`arrayKey` null, a ChatGPT `conversations.json`) or under a top-level key (a native export's
 * `conversations`); and, with `entriesKey`, the entries of the object under that top-level key, one at a
 * time too (a native export's `blobs`). Only one item's objects are ever held, never the document's; the
 * other top-level values (a native export's `format` and `version`, small) are handed to `onTopLevel`, and so
 * is the entries object, as `{}`, when it starts (its presence is news: a native export's attachments have
 * bytes only if it has `blobs`). A file that is not JSON, is truncated, or is shaped otherwise is refused with {@link badFile}, naming the
 * item it reached.
 */
export async function* jsonArrayItems(
  bytes: ReadableStream<Uint8Array>,
  arrayKey: string | null,
  onTopLevel: (key: string, value: unknown) => void = () => {},
  entriesKey?: string,
): AsyncGenerator<JsonItem> {
  const tokens = Readable.from(chunksOf(bytes)).pipe(parser.asStream({ streamValues: false }));
  const iterator: AsyncIterator<Token> = tokens[Symbol.asyncIterator]();
  let index = 0;
  const next = async (): Promise<Token | null> => {
    try {
      const step = await iterator.next();
      return step.done ? null : step.value;
    } catch (error) {
      const where = index > 0 ? ` (after item ${index - 1} of the array)` : "";
      throw badFile(`the file is not valid JSON${where}: ${(error as Error).message}`);
    }
  };
  /** The whole value that starts with `first`. */
  const assemble = async (first: Token): Promise<unknown> => {
    const assembler = new Assembler();
    for (let token: Token | null = first; ; token = await next()) {
      if (token === null) throw badFile(`the file ends in the middle of item ${index}`);
      assembler.consume(token);
      if (assembler.done) return assembler.current;
    }
  };
  async function* items(): AsyncGenerator<JsonItem> {
    for (let token = await next(); token?.name !== "endArray"; token = await next()) {
      if (token === null) throw badFile(`the file ends after item ${index - 1}`);
      yield { index, key: null, value: await assemble(token) };
      index += 1;
    }
  }
  async function* entries(): AsyncGenerator<JsonItem> {
    for (let token = await next(); token?.name !== "endObject"; token = await next()) {
      if (token?.name !== "keyValue") throw badFile(`the file ends inside "${entriesKey}"`);
      const start = await next();
      if (start === null) throw badFile(`the file ends at "${entriesKey}"."${token.value}"`);
      yield { index, key: token.value, value: await assemble(start) };
    }
  }

  try {
    const first = await next();
    if (first === null) throw badFile("the file is empty");
    if (arrayKey === null) {
      if (first.name !== "startArray") throw badFile("expected a JSON array of conversations");
      yield* items();
    } else {
      if (first.name !== "startObject") throw badFile("expected a JSON object");
      let found = false;
      for (let token = await next(); token?.name !== "endObject"; token = await next()) {
        if (token?.name !== "keyValue") throw badFile("the file ends before its object does");
        const key = token.value;
        const start = await next();
        if (start === null) throw badFile(`the file ends at "${key}"`);
        if (key === entriesKey) {
          if (start.name !== "startObject") throw badFile(`"${entriesKey}" must be an object`);
          onTopLevel(key, {});
          yield* entries();
        } else if (key !== arrayKey) onTopLevel(key, await assemble(start));
        else if (start.name !== "startArray") throw badFile(`"${arrayKey}" must be an array`);
        else {
          found = true;
          yield* items();
        }
      }
      if (!found) throw badFile(`the object has no "${arrayKey}" array`);
    }
    if ((await next()) !== null) throw badFile("unexpected data after the end of the JSON value");
  } finally {
    tokens.destroy();
  }
}
