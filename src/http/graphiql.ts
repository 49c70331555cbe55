import { createRequire } from "node:module";
import { gzipSync } from "node:zlib";
import type { GraphiQLOptions, Plugin } from "graphql-yoga";

// Yoga's default GraphiQL page loads its script, styles and editor workers from unpkg.com, which fails
// offline and behind many firewalls. The same build ships in @graphql-yoga/render-graphiql; we serve its
// files from this server under a versioned path (cached for good) and render a small page that uses them.

const { version } = createRequire(import.meta.url)("@graphql-yoga/render-graphiql/package.json") as {
  version: string;
};

/** Where the GraphiQL files are served; the version in the path lets browsers cache them forever. */
export const GRAPHIQL_ASSETS_PATH = `/graphiql/${version}`;

interface Asset {
  type: string;
  body: Buffer<ArrayBuffer>;
  gzipped: Buffer<ArrayBuffer>;
}

const FILES = {
  "graphiql.js": "text/javascript; charset=utf-8",
  "graphiql.css": "text/css; charset=utf-8",
  "editor.worker.js": "text/javascript; charset=utf-8",
  "json.worker.js": "text/javascript; charset=utf-8",
  "graphql.worker.js": "text/javascript; charset=utf-8",
  "favicon.ico": "image/x-icon",
} as const;

let assets: Promise<Map<string, Asset>> | undefined;

/** Loads the bundle (about 9 MB of text) on first use only, so servers without GraphiQL never hold it. */
function loadAssets(): Promise<Map<string, Asset>> {
  assets ??= import("@graphql-yoga/render-graphiql/graphiql").then((b) => {
    const sources: Record<keyof typeof FILES, Buffer<ArrayBuffer>> = {
      "graphiql.js": Buffer.from(b.js),
      "graphiql.css": Buffer.from(b.css),
      "editor.worker.js": Buffer.from(b.editorWorkerService),
      "json.worker.js": Buffer.from(b.jsonWorker),
      "graphql.worker.js": Buffer.from(b.graphqlWorker),
      "favicon.ico": Buffer.from(b.favicon.slice(b.favicon.indexOf(",") + 1), "base64"),
    };
    return new Map(
      Object.entries(sources).map(([name, body]) => [
        name,
        { type: FILES[name as keyof typeof FILES], body, gzipped: gzipSync(body) },
      ]),
    );
  });
  return assets;
}

/** Serves GraphiQL's script, styles, editor workers and icon from this server. */
export function useLocalGraphiQLAssets(): Plugin {
  const prefix = `${GRAPHIQL_ASSETS_PATH}/`;
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (!url.pathname.startsWith(prefix) || (request.method !== "GET" && request.method !== "HEAD")) return;
      const asset = (await loadAssets()).get(url.pathname.slice(prefix.length));
      if (!asset) {
        endResponse(new fetchAPI.Response(null, { status: 404 }));
        return;
      }
      const gzip = /\bgzip\b/.test(request.headers.get("accept-encoding") ?? "");
      const body = gzip ? asset.gzipped : asset.body;
      endResponse(
        new fetchAPI.Response(request.method === "HEAD" ? null : body, {
          status: 200,
          headers: {
            "content-type": asset.type,
            "content-length": String(body.byteLength),
            "cache-control": "public, max-age=31536000, immutable",
            vary: "accept-encoding",
            ...(gzip ? { "content-encoding": "gzip" } : {}),
          },
        }),
      );
    },
  };
}

/** The GraphiQL page, loading everything from {@link GRAPHIQL_ASSETS_PATH}; pass as yoga's `renderGraphiQL`. */
export function renderLocalGraphiQL(options: GraphiQLOptions): string {
  const title = escapeHtml(options.title ?? "GraphiQL");
  // `<` is escaped so that no option value can close the script element.
  const json = JSON.stringify(options).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${title}</title>
    <link rel="icon" href="${GRAPHIQL_ASSETS_PATH}/favicon.ico" />
    <link rel="stylesheet" href="${GRAPHIQL_ASSETS_PATH}/graphiql.css" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run GraphiQL.</noscript>
    <div id="root"></div>
    <script>
      const workers = {
        editorWorkerService: "${GRAPHIQL_ASSETS_PATH}/editor.worker.js",
        json: "${GRAPHIQL_ASSETS_PATH}/json.worker.js",
        graphql: "${GRAPHIQL_ASSETS_PATH}/graphql.worker.js",
      };
      self.MonacoEnvironment = { globalAPI: false, getWorkerUrl: (_moduleId, label) => workers[label] };
    </script>
    <script src="${GRAPHIQL_ASSETS_PATH}/graphiql.js"></script>
    <script>
      YogaGraphiQL.renderYogaGraphiQL(document.getElementById("root"), ${json});
    </script>
  </body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
