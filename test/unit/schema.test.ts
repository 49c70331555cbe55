import { readFileSync } from "node:fs";
import { buildSchema, lexicographicSortSchema, printSchema } from "graphql";
import { describe, expect, it } from "vitest";
import { schema } from "../../src/schema/index.js";

const normalize = (sdl: string) => printSchema(lexicographicSortSchema(buildSchema(sdl)));

describe("schema.graphql", () => {
  it("matches the schema the code builds (run `npm run codegen` when this fails)", () => {
    const committed = readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8");
    expect(normalize(committed)).toBe(normalize(printSchema(schema)));
  });
});
