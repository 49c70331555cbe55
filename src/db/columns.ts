import { type Message as MessageRow, Prisma } from "./generated/prisma/client.js";

/**
 * A message as the application reads it: every column but `searchText`, the copy of the text kept for
 * search's trigram index, which the client omits from every read (see client.ts).
 */
export type Message = Omit<MessageRow, "searchText">;

/**
 * A message with its tool calls, as a run and its events carry it. `toolCalls` is written before the row's
 * columns: V8 (Node 20) gives an object made by a spread and then a property the spread lacked a hidden class
 * of its own, one for every such object, where this order makes them all share one.
 */
export function withToolCalls<M extends Message, T>(message: M, toolCalls: T[]): M & { toolCalls: T[] } {
  return { toolCalls, ...message };
}

/**
 * Every column of `Message` the application reads (the model's scalar fields but `searchText`, so it
 * follows the schema) qualified by `m`, the alias of `Message` in the statements that write messages and
 * return them as Prisma would. Made once: a send and a reply's end each name them.
 */
export const MESSAGE_COLUMNS = Prisma.raw(
  Object.values(Prisma.MessageScalarFieldEnum)
    .filter((field) => field !== "searchText")
    .map((field) => `m."${field}"`)
    .join(", "),
);
