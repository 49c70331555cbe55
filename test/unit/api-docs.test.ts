import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { API_DOC, renderApiDoc } from "../../scripts/api-docs.js";

it("docs/api.md is current with schema.graphql (run `npm run docs`)", () => {
  expect(readFileSync(API_DOC, "utf8")).toBe(renderApiDoc());
});
