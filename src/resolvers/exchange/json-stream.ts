import { Readable } from "node:stream";
import { Assembler } from "stream-json/assembler.js";
import { parser } from "stream-json/parser.js";
import type { z } from "zod";
import { BadUserInputError } from "../../core/errors.js";

type Token = parser.Token;

/** A refused import file: BAD_USER_INPUT on the `file` argument, the message saying what and where. */
export function badFile(message: string): BadUserInputError {
  return new BadUserInputError(`Import refused: ${message}`, "file");
}

/** One entry of a file checked against its schema: the first problem refused, saying where it is. */
export function checkedEntry<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.length ? `.${issue.path.join(".")}` : "";
  throw badFile(`${where}${path}: ${issue?.message ?? "invalid"}`);
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

/**
 * An item of the streamed array; or an entry of the streamed object: its `key`, its small `fields`, and
 * its big string field's text in `pieces` (null when that field is missing or not a string). The pieces
 * must be read before the next item is asked for; `fields` is whole once they have been.
 */
export type JsonItem =
  | { index: number; key: null; value: unknown }
  | { key: string; fields: Record<string, unknown>; pieces: AsyncIterable<string> | null };

/**
 * The items of one array in a JSON file, each parsed alone as it arrives: the array at the top level
 * (`arrayKey` null, a ChatGPT `conversations.json`) or under a top-level key (a native export's
 * `conversations`). Only one item's objects are ever held, never the document's; the other top-level
 * values (a native export's `format` and `version`, small) are handed to `onTopLevel`. With `entries`, the
 * object under the top-level `entries.key` (a native export's `blobs`) is streamed too, an entry at a time,
 * and each entry's string field `entries.field` (a blob's base64 `data`) a piece at a time: not even one
 * entry is held whole. Its presence is handed to `onTopLevel` as `{}` when it starts (news in itself: a
 * native export's attachments have bytes only if it has `blobs`). A file that is not JSON, is truncated, or
 * is shaped otherwise is refused with {@link badFile}, naming the item it reached.
 */
export async function* jsonArrayItems(
  bytes: ReadableStream<Uint8Array>,
  arrayKey: string | null,
  onTopLevel: (key: string, value: unknown) => void = () => {},
  entries?: { key: string; field: string },
): AsyncGenerator<JsonItem> {
  // Strings come in pieces (a packed string would hold a whole blob's base64); keys and numbers whole.
  const tokens = Readable.from(chunksOf(bytes)).pipe(
    parser.asStream({ packStrings: false, streamKeys: false, streamNumbers: false }),
  );
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
  /** The whole value that starts with `first`, its strings joined from their pieces. */
  const assemble = async (first: Token, where = `item ${index}`): Promise<unknown> => {
    const assembler = new Assembler();
    let text: string[] = [];
    for (let token: Token | null = first; ; token = await next()) {
      if (token === null) throw badFile(`the file ends in the middle of ${where}`);
      // Inside a string the assembler has not been told of it yet, so it would count as done.
      if (token.name === "startString") text = [];
      else if (token.name === "stringChunk") text.push(token.value);
      else {
        if (token.name === "endString") assembler.consume({ name: "stringValue", value: text.join("") });
        else assembler.consume(token);
        if (assembler.done) return assembler.current;
      }
    }
  };
  async function* items(): AsyncGenerator<JsonItem> {
    for (let token = await next(); token?.name !== "endArray"; token = await next()) {
      if (token === null) throw badFile(`the file ends after item ${index - 1}`);
      yield { index, key: null, value: await assemble(token) };
      index += 1;
    }
  }
  /** The entries of the streamed object, each yielded when its big field starts (or it ends without). */
  async function* entriesOf(name: string, field: string): AsyncGenerator<JsonItem> {
    for (let token = await next(); token?.name !== "endObject"; token = await next()) {
      if (token?.name !== "keyValue") throw badFile(`the file ends inside "${name}"`);
      const key = token.value;
      const where = `${name}.${key.slice(0, 64)}`;
      if ((await next())?.name !== "startObject") throw badFile(`${where} must be an object`);
      const fields: Record<string, unknown> = {};
      /** Reads the entry's fields up to its end or, when `stopAtField`, to the start of its big string. */
      const readFields = async (stopAtField: boolean): Promise<boolean> => {
        for (let t = await next(); t?.name !== "endObject"; t = await next()) {
          if (t?.name !== "keyValue") throw badFile(`the file ends inside ${where}`);
          const start = await next();
          if (start === null) throw badFile(`the file ends inside ${where}`);
          if (stopAtField && t.value === field && start.name === "startString") return true;
          fields[t.value] = await assemble(start, where);
        }
        return false;
      };
      let done = false;
      async function* pieces(): AsyncGenerator<string> {
        for (let t = await next(); t?.name !== "endString"; t = await next()) {
          if (t?.name !== "stringChunk") throw badFile(`the file ends inside ${where}.${field}`);
          yield t.value;
        }
        await readFields(false);
        done = true;
      }
      if (!(await readFields(true))) {
        yield { key, fields, pieces: null };
        continue;
      }
      const text = pieces();
      yield { key, fields, pieces: text };
      // What the reader left unread (a blob it already had) is skipped, to go on to the next entry.
      if (!done) for await (const _ of text);
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
        if (key === entries?.key) {
          if (start.name !== "startObject") throw badFile(`"${key}" must be an object`);
          onTopLevel(key, {});
          yield* entriesOf(key, entries.field);
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
