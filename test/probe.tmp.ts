import { startTestServer, tokenFor } from "./utils/server.js";
const s = await startTestServer("pglite");
const t = await tokenFor("u1");
async function send(path: string, init: RequestInit) {
  const r = await fetch(s.url + path, init);
  console.log(path, init.method, r.status, r.headers.get("content-type"), r.headers.get("retry-after"), (await r.text()).slice(0, 300).replace(/\n/g, "\\n"));
}
const json = (q: string, extra: Record<string,string> = {}) => ({ method: "POST", headers: { "content-type": "application/json", accept: "text/event-stream", ...extra }, body: JSON.stringify({ query: q }) });
await send("/graphql/stream", json("subscription { messageStream(messageId: \"x\") { __typename } }"));
await send("/graphql/stream", json("subscription { messageStream(messageId: \"x\") { __typename } }", { authorization: "Bearer bad" }));
await send("/graphql/stream", json("subscription { nope }", { authorization: `Bearer ${t}` }));
await send("/graphql/stream", json("subscription { {{{ ", { authorization: `Bearer ${t}` }));
await send("/graphql/stream", json("subscription { messageStream(messageId: \"x\") { __typename } }", { authorization: `Bearer ${t}` }));
await send("/graphql/stream", json("query { viewer { id } }", { authorization: `Bearer ${t}` }));
await send("/graphql/stream", { method: "POST", headers: { "content-type": "text/plain" }, body: JSON.stringify({query: "{ viewer { id } }"}) });
await send("/graphql", { method: "GET" });
await send("/graphql?query=%7Bviewer%7Bid%7D%7D", { method: "GET" });
await send("/graphql?query=%7Bviewer%7Bid%7D%7D", { method: "GET", headers: { authorization: `Bearer ${t}` } });
await send("/graphql", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${t}` }, body: "{bad json" });
await send("/graphql", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${t}` }, body: JSON.stringify({query: "{ nope }"}) });
await send("/graphql", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${t}` }, body: JSON.stringify({query: "{ {{ "}) });
await send("/graphql", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${t}` }, body: JSON.stringify({query: "{ " + Array.from({length: 20}, (_, i) => `a${i}: viewer { id }`).join(" ") + " }"}) });
await send("/graphql", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${t}` }, body: JSON.stringify({query: "{ viewer { id } }", variables: { x: "a".repeat(2_000_000) }}) });
await send("/graphql", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${t}` }, body: Buffer.concat([Buffer.from('{"query":"{ viewer { id } }","variables":{"x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]) });
await send("/graphql/stream", { method: "POST", headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${t}` }, body: Buffer.concat([Buffer.from('{"query":"{ viewer { id } }","variables":{"x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]) });
await send("/readyz", { method: "GET" });
const m = await (await fetch(s.url + "/metrics")).text();
console.log(m.split("\n").filter(l => l.startsWith("chat_") || l.startsWith("graphql_")).slice(0, 30).join("\n"));
await s.close();
