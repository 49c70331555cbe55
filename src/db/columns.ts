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

/** The lists made so far, by alias: a send and a reply's end each name them, and they never change. */
const columnLists = new Map<string, Prisma.Sql>();

/**
 * Every column of `Message` the application reads (the model's scalar fields but `searchText`, so it
 * follows the schema) qualified by `alias`, for statements that write messages and return them as Prisma
 * would.
 */
export function messageColumns(alias: string): Prisma.Sql {
  let columns = columnLists.get(alias);
  if (columns === undefined) {
    columns = Prisma.raw(
      Object.values(Prisma.MessageScalarFieldEnum)
        .filter((field) => field !== "searchText")
        .map((field) => `${alias}."${field}"`)
        .join(", "),
    );
    columnLists.set(alias, columns);
  }
  return columns;
}
