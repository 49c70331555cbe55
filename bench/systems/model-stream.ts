// How the two baselines read the model: the same streamed chat completion the server asks for.
import { Agent, request } from "node:http";

const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

/** The body of the streamed chat completion every system sends the model. */
export function completionBody(prompt: string): string {
  return JSON.stringify({
    model: "bench",
    messages: [{ role: "user", content: prompt }],
    stream: true,
    stream_options: { include_usage: true },
  });
}

/**
 * The text chunks of a streamed chat completion from the model at `baseUrl`, read with `node:http` and
 * parsed line by line: the least any relay must do.
 */
export async function* rawModelStream(baseUrl: string, prompt: string): AsyncGenerator<string> {
  const body = completionBody(prompt);
  const response = await new Promise<import("node:http").IncomingMessage>((resolve, reject) => {
    const req = request(
      `${baseUrl}/chat/completions`,
      { method: "POST", agent, headers: { "content-type": "application/json" } },
      resolve,
    );
    req.on("error", reject);
    req.end(body);
  });
  response.setEncoding("utf8");
  let buffered = "";
  for await (const data of response as AsyncIterable<string>) {
    buffered += data;
    let end = buffered.indexOf("\n\n");
    while (end !== -1) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      end = buffered.indexOf("\n\n");
      if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
      const chunk = JSON.parse(line.slice(6)) as { choices: { delta: { content?: string } }[] };
      const content = chunk.choices[0]?.delta.content;
      if (content) yield content;
    }
  }
}
