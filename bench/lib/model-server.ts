// The benchmark's model: an OpenAI-compatible chat-completions server (run as a child process by
// bench/run.ts) that streams a reply of `tokens` chunks of `size` characters at `rate` chunks per second
// (0: as fast as the connection takes them). Each chunk's text starts with the time it was written, so the
// client that receives it can tell the latency added in between. The parent reconfigures it over IPC.
import { createServer, type ServerResponse } from "node:http";
import { encodeStamp, now } from "./clock.js";

export interface ModelScript {
  tokens: number;
  /** Chunks per second per reply; 0 streams as fast as the reader takes them. */
  rate: number;
  /** Characters per chunk (at least the stamp's). */
  size: number;
}

let script: ModelScript = { tokens: 20, rate: 20, size: 8 };

interface Reply {
  res: ServerResponse;
  sent: number;
  due: number;
  interval: number;
}

const HEAD = 'data: {"id":"bench","object":"chat.completion.chunk","created":0,"model":"bench","choices":[';
const live = new Set<Reply>();

function chunk(content: string | null, finish: string | null): string {
  const delta = content === null ? "{}" : `{"content":"${content}"}`;
  return `${HEAD}{"index":0,"delta":${delta},"finish_reason":${finish === null ? "null" : `"${finish}"`}}]}\n\n`;
}

function token(): string {
  return encodeStamp(now()).padEnd(script.size, "x");
}

function end(reply: Reply): void {
  live.delete(reply);
  const usage = { prompt_tokens: 10, completion_tokens: reply.sent, total_tokens: 10 + reply.sent };
  reply.res.end(
    `${chunk(null, "stop")}data: {"id":"bench","object":"chat.completion.chunk","created":0,"model":"bench","choices":[],"usage":${JSON.stringify(usage)}}\n\ndata: [DONE]\n\n`,
  );
}

/** Paced replies: one timer serves them all, so thousands of streams cost no more timers than one. */
setInterval(() => {
  const t = now();
  for (const reply of live) {
    if (reply.interval === 0 || reply.due > t) continue;
    reply.res.write(chunk(token(), null));
    reply.sent++;
    reply.due += reply.interval;
    if (reply.sent >= script.tokens) end(reply);
  }
}, 2);

/** Unpaced replies: as fast as the reader drains them. */
async function flood(reply: Reply): Promise<void> {
  while (reply.sent < script.tokens && !reply.res.destroyed) {
    let ok = true;
    for (let i = 0; i < 20 && reply.sent < script.tokens && ok; i++) {
      ok = reply.res.write(chunk(token(), null));
      reply.sent++;
    }
    if (!ok) await new Promise((resolve) => reply.res.once("drain", resolve));
    else await new Promise((resolve) => setImmediate(resolve));
  }
  end(reply);
}

const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    if (!req.url?.startsWith("/v1/chat/completions")) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.write(chunk("", null));
    const interval = script.rate > 0 ? 1000 / script.rate : 0;
    // Replies start at a random phase, as real ones do, instead of all on the same tick.
    const reply: Reply = { res, sent: 0, due: now() + Math.random() * interval, interval };
    res.on("close", () => live.delete(reply));
    if (interval === 0) void flood(reply);
    else live.add(reply);
  });
});
server.keepAliveTimeout = 60_000;

process.on("message", (message: { type: string; script?: ModelScript }) => {
  if (message.type === "script" && message.script) {
    script = message.script;
    process.send?.({ type: "script-set" });
  } else if (message.type === "clock") {
    process.send?.({ type: "clock", now: now() });
  }
});

server.listen({ port: 0, host: "127.0.0.1", backlog: 4_096 }, () => {
  const address = server.address();
  process.send?.({ type: "ready", port: typeof address === "object" && address ? address.port : 0 });
});
