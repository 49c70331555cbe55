import { Writable } from "node:stream";
import { expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.js";

/** A logger at info level whose lines are collected, parsed. */
function collectingLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ level: "info", destination }), lines };
}

it("censors credentials at the top level, one level down and in request headers, and leaves the rest", () => {
  const { logger, lines } = collectingLogger();
  const config = { name: "search", apiKey: "sk-1", url: "https://mcp.example" };
  const logged = {
    password: "p",
    config,
    nested: { secret: "s", deeper: { password: "kept: two levels down is not a name pino's paths name" } },
    req: { headers: { authorization: "Bearer t", cookie: "c", accept: "*/*" } },
    headers: { authorization: "Bearer u", "x-request-id": "r" },
    plain: { note: "no secret here" },
    status: 200,
  };
  logger.info(logged, "line");
  expect(lines[0]).toMatchObject({
    msg: "line",
    password: "[redacted]",
    config: { name: "search", apiKey: "[redacted]", url: "https://mcp.example" },
    nested: { secret: "[redacted]", deeper: { password: logged.nested.deeper.password } },
    req: { headers: { authorization: "[redacted]", cookie: "[redacted]", accept: "*/*" } },
    headers: { authorization: "[redacted]", "x-request-id": "r" },
    plain: { note: "no secret here" },
    status: 200,
  });
  // The caller's objects are not changed.
  expect(config.apiKey).toBe("sk-1");
  expect(logged.req.headers.authorization).toBe("Bearer t");
});

it("writes a line with no credentials as it is, errors serialised", () => {
  const { logger, lines } = collectingLogger();
  logger.info({ requestId: "r1", ms: 3 }, "request");
  logger.child({ requestId: "r2" }).warn({ err: new Error("broken") }, "failed");
  expect(lines[0]).toMatchObject({ requestId: "r1", ms: 3, msg: "request" });
  expect(lines[1]).toMatchObject({
    requestId: "r2",
    msg: "failed",
    err: { message: "broken", type: "Error" },
  });
});
