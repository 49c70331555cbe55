import { createSchema, createYoga, Repeater } from "graphql-yoga";
import { describe, expect, it } from "vitest";
import {
  acceptsMultipartSubscriptions,
  useMultipartSubscriptions,
} from "../../src/http/multipart-subscriptions.js";

const APOLLO_ACCEPT =
  "multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/graphql-response+json,application/json;q=0.9";

/** A yoga app with subscriptions that tests steer: `ticks` counts, `broken` fails after one event. */
function app(heartbeatMs = 10_000) {
  const state = { returned: 0, push: (_n: number) => {}, stop: () => {} };
  const yoga = createYoga({
    logging: false,
    schema: createSchema({
      typeDefs: /* GraphQL */ `
        type Query { hello: String! }
        type Subscription { ticks: Int!, broken: Int!, failing: Int }
      `,
      resolvers: {
        Query: { hello: () => "world" },
        Subscription: {
          ticks: {
            subscribe: () =>
              new Repeater<{ ticks: number }>(async (push, stop) => {
                state.push = (n) => void push({ ticks: n });
                state.stop = () => stop();
                await stop;
                state.returned += 1;
              }),
          },
          broken: {
            subscribe: () =>
              new Repeater<{ broken: number }>(async (push, stop) => {
                await push({ broken: 1 });
                stop(new Error("the source broke: secret details"));
              }),
          },
          failing: {
            subscribe: () =>
              new Repeater<{ failing: number }>(async (push, stop) => {
                await push({ failing: 1 });
                stop();
              }),
            resolve: () => {
              throw new Error("resolver failed");
            },
          },
        },
      },
    }),
    plugins: [useMultipartSubscriptions({ heartbeatMs })],
  });
  return { yoga, state };
}

function post(yoga: ReturnType<typeof app>["yoga"], query: string, accept: string, signal?: AbortSignal) {
  return yoga.fetch("http://test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept },
    body: JSON.stringify({ query }),
    signal,
  });
}

/** Reads a multipart body as Apollo Client does: the JSON of each part, until the final boundary. */
async function* parts(response: Response): AsyncGenerator<unknown> {
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
  if (!reader) throw new Error("no body");
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended without the final boundary: ${JSON.stringify(buffer)}`);
    buffer += value;
    for (;;) {
      const start = buffer.indexOf("\r\n--graphql");
      if (start === -1) break;
      const rest = buffer.slice(start + "\r\n--graphql".length);
      if (rest.startsWith("--")) {
        await reader.cancel();
        return;
      }
      const next = rest.indexOf("\r\n--graphql");
      if (next === -1) break;
      const part = rest.slice(0, next);
      buffer = rest.slice(next);
      const [headers, body] = part.split("\r\n\r\n");
      expect(headers?.trim().toLowerCase()).toBe("content-type: application/json");
      yield JSON.parse(body ?? "");
    }
  }
}

describe("Apollo multipart subscriptions", () => {
  it("recognises Apollo's Accept header, quoted or not, and nothing else", () => {
    expect(acceptsMultipartSubscriptions(APOLLO_ACCEPT)).toBe(true);
    expect(acceptsMultipartSubscriptions('multipart/mixed; subscriptionSpec="1.0", application/json')).toBe(
      true,
    );
    expect(acceptsMultipartSubscriptions("text/event-stream, multipart/mixed")).toBe(false);
    expect(acceptsMultipartSubscriptions("multipart/mixed;deferSpec=20220824")).toBe(false);
    expect(acceptsMultipartSubscriptions(null)).toBe(false);
  });

  it("streams events as payload parts with a heartbeat first, and ends with the final boundary", async () => {
    const { yoga, state } = app();
    const response = await post(yoga, "subscription { ticks }", APOLLO_ACCEPT);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe(
      'multipart/mixed;boundary="graphql";subscriptionSpec="1.0"',
    );
    expect(response.headers.get("x-accel-buffering")).toBe("no");
    expect(response.headers.get("cache-control")).toContain("no-transform");
    expect(response.headers.get("content-encoding")).toBeNull();
    const reader = parts(response);
    expect((await reader.next()).value).toEqual({});
    state.push(1);
    expect((await reader.next()).value).toEqual({ payload: { data: { ticks: 1 } } });
    state.push(2);
    expect((await reader.next()).value).toEqual({ payload: { data: { ticks: 2 } } });
    state.stop();
    expect((await reader.next()).done).toBe(true);
  });

  it("sends {} heartbeats while the stream is idle", async () => {
    const { yoga, state } = app(30);
    const controller = new AbortController();
    const response = await post(yoga, "subscription { ticks }", APOLLO_ACCEPT, controller.signal);
    const reader = parts(response);
    const heartbeats = [];
    for (let i = 0; i < 4; i++) heartbeats.push((await reader.next()).value);
    expect(heartbeats).toEqual([{}, {}, {}, {}]);
    state.push(7);
    let value = (await reader.next()).value;
    while (JSON.stringify(value) === "{}") value = (await reader.next()).value;
    expect(value).toEqual({ payload: { data: { ticks: 7 } } });
    await reader.return(undefined);
    controller.abort();
  });

  it("keeps GraphQL errors of an event inside its payload", async () => {
    const { yoga } = app();
    const response = await post(yoga, "subscription { failing }", APOLLO_ACCEPT);
    const events = [];
    for await (const part of parts(response)) events.push(part);
    expect(events).toEqual([
      {},
      {
        payload: {
          data: { failing: null },
          errors: [
            expect.objectContaining({
              message: "Unexpected error.",
              path: ["failing"],
            }),
          ],
        },
      },
    ]);
  });

  it("reports a broken stream as a payload-less error part, masked, then ends", async () => {
    const { yoga } = app();
    const response = await post(yoga, "subscription { broken }", APOLLO_ACCEPT);
    const events = [];
    for await (const part of parts(response)) events.push(part);
    expect(events[1]).toEqual({ payload: { data: { broken: 1 } } });
    expect(events[2]).toEqual({
      payload: null,
      errors: [expect.objectContaining({ message: "Unexpected error." })],
    });
    expect(events).toHaveLength(3);
    expect(JSON.stringify(events)).not.toContain("secret");
  });

  it("stops the subscription when the client goes away", async () => {
    const { yoga, state } = app();
    const response = await post(yoga, "subscription { ticks }", APOLLO_ACCEPT);
    const reader = parts(response);
    expect((await reader.next()).value).toEqual({});
    await response.body?.cancel().catch(() => {});
    await reader.return(undefined).catch(() => {});
    await expect.poll(() => state.returned, { timeout: 5_000 }).toBe(1);
  });

  it("leaves other requests to yoga: queries as JSON, urql's and GraphiQL's subscriptions as SSE", async () => {
    const { yoga, state } = app();
    const query = await post(yoga, "{ hello }", APOLLO_ACCEPT);
    expect(query.headers.get("content-type")).toContain("application/graphql-response+json");
    expect(await query.json()).toEqual({ data: { hello: "world" } });

    const controller = new AbortController();
    const sse = await post(
      yoga,
      "subscription { ticks }",
      "text/event-stream, multipart/mixed",
      controller.signal,
    );
    expect(sse.headers.get("content-type")).toBe("text/event-stream");
    controller.abort();
    await sse.body?.cancel().catch(() => {});
    state.stop();

    const invalid = await post(yoga, "subscription { nope }", APOLLO_ACCEPT);
    expect(invalid.headers.get("content-type")).toContain("application/graphql-response+json");
    expect(((await invalid.json()) as { errors: unknown[] }).errors).toHaveLength(1);
  });
});
