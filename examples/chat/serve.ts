/**
 * Serves the example chat page: bundles `main.ts` with esbuild (in memory, once) and serves it with
 * `index.html`, telling the page where the API is. The API must be running (`npm start`).
 *
 *   npm run example:chat            # http://localhost:5173, API at http://localhost:4000/graphql
 *   API_URL=https://api.example.com/graphql PORT=8080 npm run example:chat
 *
 * Open it with `?token=<JWT>` when the API verifies tokens; without one, development auth applies.
 */
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

/** Bundles the page's script for browsers. */
export async function bundleChatPage(): Promise<string> {
  const result = await build({
    entryPoints: [new URL("./main.ts", import.meta.url).pathname],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    minify: true,
    sourcemap: "inline",
    // Graphcache reads NODE_ENV to decide on development warnings.
    define: { "process.env.NODE_ENV": JSON.stringify("development") },
    logLevel: "silent",
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error("esbuild produced no output");
  return output.text;
}

/** Starts the page's server; `port` 0 picks a free one. */
export async function startChatExample(options: { apiUrl: string; port?: number; host?: string }) {
  const [script, template] = await Promise.all([
    bundleChatPage(),
    readFile(new URL("./index.html", import.meta.url), "utf8"),
  ]);
  const config = JSON.stringify({ api: options.apiUrl }).replace(/</g, "\\u003c");
  const html = template.replace("/*CONFIG*/", `window.CHAT_CONFIG = ${config};`);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path === "/" || path === "/index.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" });
      res.end(html);
    } else if (path === "/app.js") {
      res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" });
      res.end(script);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 5173, options.host ?? "127.0.0.1", resolve),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const example = await startChatExample({
    apiUrl: process.env.API_URL ?? "http://localhost:4000/graphql",
    port: Number(process.env.PORT ?? 5173),
    host: process.env.HOST ?? "127.0.0.1",
  });
  console.log(
    `Chat example on ${example.url} (API: ${process.env.API_URL ?? "http://localhost:4000/graphql"})`,
  );
}
