import { describe, expect, it } from "vitest";
import { EventQueue } from "../../src/resolvers/viewer-events.js";

// The queue between a user's events and one `viewerEvents` stream.

async function drain<T>(queue: EventQueue<T>): Promise<T[]> {
  const read: T[] = [];
  for await (const value of queue) read.push(value);
  return read;
}

describe("EventQueue", () => {
  it("hands values over in order, to a waiting reader too", async () => {
    const queue = new EventQueue<number>(10, () => {});
    const first = queue.next();
    queue.push(1);
    queue.push(2);
    expect(await first).toEqual({ done: false, value: 1 });
    expect(await queue.next()).toEqual({ done: false, value: 2 });
  });

  it("ends a reader that falls `capacity` behind, after what it holds, and says so once", async () => {
    let ends = 0;
    const queue = new EventQueue<number>(3, () => ends++);
    for (let i = 1; i <= 5; i++) queue.push(i);
    expect(ends).toBe(1);
    expect(await drain(queue)).toEqual([1, 2, 3]);
    queue.push(6);
    expect(await queue.next()).toEqual({ done: true, value: undefined });
    expect(ends).toBe(1);
  });

  it("closes with the values pushed before still read, and ends a waiting read at once", async () => {
    const held = new EventQueue<string>(10, () => {});
    held.push("a");
    held.close();
    expect(await drain(held)).toEqual(["a"]);
    const waiting = new EventQueue<string>(10, () => {});
    const read = waiting.next();
    waiting.close();
    expect(await read).toEqual({ done: true, value: undefined });
  });

  it("drops what is unread when the reader returns", async () => {
    let ends = 0;
    const queue = new EventQueue<number>(10, () => ends++);
    queue.push(1);
    await queue.return();
    expect(await queue.next()).toEqual({ done: true, value: undefined });
    expect(ends).toBe(1);
  });
});
