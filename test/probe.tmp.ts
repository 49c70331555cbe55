import { startTestServer, tokenFor } from "./utils/server.js";
const s = await startTestServer("pglite");
const t = await tokenFor("u1");
const SEND = `subscription Send($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }`;
const body = Buffer.concat([
  Buffer.from(JSON.stringify({ query: SEND }).slice(0, -1)),
  Buffer.from(',"variables":{"input":{"content":"bad '),
  Buffer.from([0xc3, 0x28, 0xff]),
  Buffer.from('"}}}'),
]);
try {
const r = await fetch(s.url + "/graphql", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${t}` }, body });
console.log(r.status, await r.text());
} catch (e) { console.log(e, (e as Error).cause); }
await s.close();
