import { describe, expect, it } from "vitest";
import { cleanTitle } from "../../src/agent/runs/titles.js";

describe("cleanTitle", () => {
  it("keeps the first non-empty line without the decoration models add", () => {
    expect(cleanTitle("\n  Title: **Planning a trip.**\nsecond line", 200)).toBe("Planning a trip");
    expect(cleanTitle('"Quoted title"', 200)).toBe("Quoted title");
    expect(cleanTitle("## Heading title", 200)).toBe("Heading title");
    expect(cleanTitle("« Titre : Voyage à Paris »", 200)).toBe("Titre : Voyage à Paris");
    expect(cleanTitle("titre: Voyage", 200)).toBe("Voyage");
    expect(cleanTitle("Tabs\tand\u0007 bells", 200)).toBe("Tabs and bells");
  });

  it("gives null when nothing is left", () => {
    expect(cleanTitle("", 200)).toBeNull();
    expect(cleanTitle(" \n\t\n", 200)).toBeNull();
    expect(cleanTitle('"**"', 200)).toBeNull();
  });

  it("cuts a long title at a word, within the limit", () => {
    const title = cleanTitle("A very long title that goes on and on about many things", 20);
    expect(title).toBe("A very long title…");
    expect(title?.length).toBeLessThanOrEqual(20);
    expect(cleanTitle("Supercalifragilisticexpialidocious", 10)).toBe("Supercali…");
  });
});
