import { gunzipSync } from "node:zlib";
import { createSchema, createYoga } from "graphql-yoga";
import { describe, expect, it } from "vitest";
import {
  GRAPHIQL_ASSETS_PATH,
  renderLocalGraphiQL,
  useLocalGraphiQLAssets,
} from "../../src/http/graphiql.js";

const yoga = createYoga({
  logging: false,
  schema: createSchema({ typeDefs: "type Query { hello: String }" }),
  graphiql: { title: "Test </title><script>alert(1)</script>" },
  renderGraphiQL: renderLocalGraphiQL,
  plugins: [useLocalGraphiQLAssets()],
});

describe("GraphiQL served from this server", () => {
  it("renders a page that loads nothing from another origin", async () => {
    const response = await yoga.fetch("http://test/graphql", { headers: { accept: "text/html" } });
    const html = await response.text();
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(html).not.toMatch(/https?:\/\//);
    for (const file of [
      "graphiql.js",
      "graphiql.css",
      "editor.worker.js",
      "json.worker.js",
      "graphql.worker.js",
    ]) {
      expect(html).toContain(`${GRAPHIQL_ASSETS_PATH}/${file}`);
    }
    // Options are data, never markup.
    expect(html).not.toContain("<script>alert(1)</script>");
  });

  it("serves its files compressed when asked, cached for good under a versioned path", async () => {
    const plain = await yoga.fetch(`http://test${GRAPHIQL_ASSETS_PATH}/graphiql.js`);
    expect(plain.status).toBe(200);
    expect(plain.headers.get("content-type")).toContain("text/javascript");
    expect(plain.headers.get("cache-control")).toContain("immutable");
    const body = Buffer.from(await plain.arrayBuffer());
    expect(body.toString("utf8", 0, 200)).toContain("YogaGraphiQL");

    const gzipped = await yoga.fetch(`http://test${GRAPHIQL_ASSETS_PATH}/graphiql.js`, {
      headers: { "accept-encoding": "gzip, br" },
    });
    expect(gzipped.headers.get("content-encoding")).toBe("gzip");
    const compressed = Buffer.from(await gzipped.arrayBuffer());
    expect(compressed.length).toBeLessThan(body.length / 2);
    expect(gunzipSync(compressed).equals(body)).toBe(true);

    const icon = await yoga.fetch(`http://test${GRAPHIQL_ASSETS_PATH}/favicon.ico`);
    expect(icon.headers.get("content-type")).toBe("image/x-icon");
    expect((await yoga.fetch(`http://test${GRAPHIQL_ASSETS_PATH}/nope.js`)).status).toBe(404);
  });
});
