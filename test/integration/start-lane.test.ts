import { createServer, IncomingMessage, type Server, ServerResponse } from "node:http";
import { type AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { StartLane } from "../../src/http/start-lane.js";

describe("StartLane on a node HTTP server", () => {
  let server: Server;
  let url: string;
  let busy = false;
  // Turns of the event loop, counted by an immediate that schedules itself: a request's start tells which
  // turn the loop was in when it arrived (the server's "request" event) and when it started.
  let turn = 0;
  let ticking: NodeJS.Immediate;
  const tick = () => {
    turn++;
    ticking = setImmediate(tick);
  };
  const arrived = new Map<IncomingMessage, number>();
  let starts: { path: string; arrivedIn: number; startedIn: number }[] = [];

  beforeAll(async () => {
    server = createServer();
    // Registered first: runs in the same emit as the lane, as the request arrives.
    server.on("request", (request: IncomingMessage) => arrived.set(request, turn));
    const lane = new StartLane(() => busy);
    server.on(
      "request",
      lane.listener((request, response) => {
        starts.push({ path: request.url ?? "", arrivedIn: arrived.get(request) ?? -1, startedIn: turn });
        response.end("ok");
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    tick();
  });
  afterAll(async () => {
    clearImmediate(ticking);
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    starts = [];
  });

  const get = async (path: string) => (await fetch(`${url}${path}`)).text();

  it("starts a request at once while nothing is streaming", async () => {
    busy = false;
    expect(await get("/idle")).toBe("ok");
    expect(starts).toEqual([
      { path: "/idle", arrivedIn: expect.any(Number), startedIn: starts[0]?.arrivedIn },
    ]);
  });

  it("while streams are open, starts requests after the turn they arrived in, one per turn", async () => {
    busy = true;
    const bodies = await Promise.all(["/a", "/b", "/c", "/d"].map(get));
    expect(bodies).toEqual(["ok", "ok", "ok", "ok"]);
    expect(starts.map((s) => s.path).sort()).toEqual(["/a", "/b", "/c", "/d"]);
    for (const start of starts) expect(start.startedIn).toBeGreaterThan(start.arrivedIn);
    const turns = starts.map((s) => s.startedIn);
    expect(new Set(turns).size).toBe(turns.length);
  });

  it("does not start a request whose client left while it waited", async () => {
    const started: string[] = [];
    const lane = new StartLane(() => true).listener((request) => started.push(request.url ?? ""));
    const waiting = (path: string) => {
      const request = new IncomingMessage(new Socket());
      request.url = path;
      return [request, new ServerResponse(request)] as const;
    };
    const [left, leftResponse] = waiting("/left");
    const [stayed, stayedResponse] = waiting("/stayed");
    lane(left, leftResponse);
    lane(stayed, stayedResponse);
    left.socket.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual(["/stayed"]);
  });

  it("gives operations that wait for their turn (graphql-ws) their turns in order, one a turn", async () => {
    const lane = new StartLane(() => true);
    const started: { name: string; turn: number }[] = [];
    const from = turn;
    await Promise.all(
      ["first", "second", "third"].map(async (name) => {
        await lane.turn();
        started.push({ name, turn });
      }),
    );
    expect(started.map((s) => s.name)).toEqual(["first", "second", "third"]);
    expect(started[0]?.turn).toBeGreaterThan(from);
    expect(new Set(started.map((s) => s.turn)).size).toBe(3);
  });

  it("gives a started operation's next step its turn ahead of the operations waiting to start", async () => {
    const lane = new StartLane(() => true);
    const started: { name: string; turn: number }[] = [];
    const step = async (name: string, place?: "ahead") => {
      await lane.turn(place);
      started.push({ name, turn });
    };
    await Promise.all([step("new 1"), step("new 2"), step("next step", "ahead")]);
    expect(started.map((s) => s.name)).toEqual(["next step", "new 1", "new 2"]);
    expect(new Set(started.map((s) => s.turn)).size).toBe(3);
  });

  it("lets an operation start at once while nothing streams and nothing waits", async () => {
    const lane = new StartLane(() => false);
    let started = false;
    lane.enter(() => {
      started = true;
      return true;
    });
    expect(started).toBe(true);
  });
});
