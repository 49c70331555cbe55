// Baseline (b): graphql-js and the `graphql-sse` handler (distinct connections mode, on `node:http`)
// relaying the model's stream, read through the `openai` client as the server reads it, with no database
// and no auth: what a GraphQL subscription over SSE costs by itself.
import { createServer } from "node:http";
import {
  GraphQLBoolean,
  GraphQLInt,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
} from "graphql";
import { createHandler } from "graphql-sse/lib/use/http";
import OpenAI from "openai";

const client = new OpenAI({ apiKey: "not-needed", baseURL: process.env.MODEL_URL, maxRetries: 0 });

async function* reply(_root: unknown, { prompt }: { prompt: string }) {
  const stream = await client.chat.completions.create({
    model: "bench",
    messages: [{ role: "user", content: prompt }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let seq = 0;
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta.content;
    if (delta) yield { seq: ++seq, delta };
  }
}

const TextDelta = new GraphQLObjectType({
  name: "TextDelta",
  fields: {
    seq: { type: new GraphQLNonNull(GraphQLInt) },
    delta: { type: new GraphQLNonNull(GraphQLString) },
  },
});
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: "Query", fields: { ok: { type: GraphQLBoolean } } }),
  subscription: new GraphQLObjectType({
    name: "Subscription",
    fields: {
      reply: {
        type: new GraphQLNonNull(TextDelta),
        args: { prompt: { type: new GraphQLNonNull(GraphQLString) } },
        subscribe: reply,
        resolve: (event: unknown) => event,
      },
    },
  }),
});

const handler = createHandler({ schema });

const server = createServer((req, res) => {
  if (req.url === "/healthz") {
    res.end("ok");
    return;
  }
  handler(req, res).catch((error: unknown) => {
    console.error(error);
    res.writeHead(500).end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen({ port: Number(process.env.PORT), host: "127.0.0.1", backlog: 4_096 });
