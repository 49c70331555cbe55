import { describe, expect, it } from "vitest";
import { Sweep } from "../../src/core/sweep.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a sweep", () => {
  it("checks every member once per interval, with the time of the sweep, until it is deleted", async () => {
    const seen: { member: string; now: number }[] = [];
    const sweep: Sweep<string> = new Sweep(10, (member) => seen.push({ member, now: sweep.now }));
    const added = Date.now();
    sweep.add("a");
    sweep.add("b");
    expect(sweep.now).toBeGreaterThanOrEqual(added);
    await sleep(75);
    const a = seen.filter((s) => s.member === "a");
    expect(a.length).toBeGreaterThanOrEqual(2);
    expect(seen.filter((s) => s.member === "b")).toHaveLength(a.length);
    // Each sweep reads the clock once, for all its members.
    for (let i = 1; i < a.length; i++) expect(a[i]?.now).toBeGreaterThan(a[i - 1]?.now ?? 0);
    sweep.delete("a");
    const before = seen.length;
    await sleep(60);
    expect(seen.slice(before).every((s) => s.member === "b")).toBe(true);
    expect(seen.length).toBeGreaterThan(before);
    expect(sweep.list()).toEqual(["b"]);
  });

  it("checks 8 times within the shortest deadline, at least once a second, and never counts time early", async () => {
    expect(Sweep.forDeadlines(400, () => {}).intervalMs).toBe(50);
    expect(Sweep.forDeadlines(60_000, () => {}).intervalMs).toBe(1_000);
    const sweep = Sweep.forDeadlines<string>(80, () => {});
    sweep.add("a");
    // A member notes `now`, which may be up to an interval old: `since` never says more has passed than did.
    const at = sweep.now;
    const noted = Date.now();
    await sleep(60);
    for (let i = 0; i < 5; i++) {
      expect(sweep.since(at)).toBeLessThanOrEqual(Date.now() - noted);
      await sleep(7);
    }
    await sleep(30);
    expect(sweep.since(at)).toBeGreaterThan(0);
    sweep.delete("a");
  });

  it("stops once it has no members, and starts again with the next one", async () => {
    let checks = 0;
    const sweep = new Sweep<number>(5, () => {
      checks++;
    });
    sweep.add(1);
    sweep.delete(1);
    await sleep(30);
    expect(checks).toBe(0);
    expect(sweep.size).toBe(0);
    sweep.add(2);
    await sleep(30);
    expect(checks).toBeGreaterThan(0);
    sweep.delete(2);
  });

  it("lets a member delete itself while it is checked", async () => {
    const checked: number[] = [];
    const sweep: Sweep<number> = new Sweep(5, (member) => {
      checked.push(member);
      sweep.delete(member);
    });
    for (const member of [1, 2, 3]) sweep.add(member);
    await sleep(30);
    expect(checked).toEqual([1, 2, 3]);
    expect(sweep.size).toBe(0);
  });
});
