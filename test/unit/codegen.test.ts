import { readFileSync } from "node:fs";
import { generate } from "@graphql-codegen/cli";
import { describe, expect, it } from "vitest";
import config from "../../codegen.js";

// Frontends import sdk/generated, and the tests type their operations with test/generated: both are
// committed, so they must be what `npm run codegen` makes from the current schema and operations.
describe("generated code", () => {
  it("is up to date (run `npm run codegen` when this fails)", { timeout: 60_000 }, async () => {
    const outputs: { filename: string; content: string }[] = await generate(
      { ...config, silent: true },
      false,
    );
    const typed = outputs.filter((o) => !o.filename.endsWith("schema.graphql"));
    expect(typed.map((o) => o.filename).some((f) => f.includes("sdk/generated/"))).toBe(true);
    for (const output of typed) {
      expect(readFileSync(output.filename, "utf8"), output.filename).toBe(output.content);
    }
  });
});
