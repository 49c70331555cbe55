import { Prisma } from "./generated/prisma/client.js";

/**
 * Every column of `Message` (the model's scalar fields, so it follows the schema) qualified by `alias`,
 * for statements that write messages and return them as Prisma would.
 */
export function messageColumns(alias: string): Prisma.Sql {
  return Prisma.raw(
    Object.values(Prisma.MessageScalarFieldEnum)
      .map((field) => `${alias}."${field}"`)
      .join(", "),
  );
}
