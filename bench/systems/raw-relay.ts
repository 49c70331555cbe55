// Baseline (a), the floor: a `node:http` server relaying the model's stream as Server-Sent Events, with no
// GraphQL and no database. POST /stream answers `data: {"delta":"…"}` per chunk.
import { createServer } from "node:http";
import { rawModelStream } from "./model-stream.js";

const modelUrl = process.env.MODEL_URL ?? "";

const server = createServer(async (req, res) => {
  if (req.url === "/healthz") {
    res.end("ok");
    return;
  }
  let body = "";
  for await (const data of req) body += data;
  const { prompt } = JSON.parse(body) as { prompt: string };
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  for await (const delta of rawModelStream(modelUrl, prompt)) {
    if (res.destroyed) break;
    res.write(`data: ${JSON.stringify({ delta })}\n\n`);
  }
  res.end("event: complete\ndata:\n\n");
});
server.keepAliveTimeout = 60_000;
server.listen({ port: Number(process.env.PORT), host: "127.0.0.1", backlog: 4_096 });
