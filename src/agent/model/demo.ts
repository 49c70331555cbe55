import type { ChatMessage, ModelEvent, ModelProvider, ModelRequest } from "./provider.js";

/**
 * The offline demo model, active when no OpenAI-compatible endpoint is configured: it streams a clearly
 * labelled canned reply word by word, so `npm start` shows streaming in GraphiQL with no key.
 */
export class DemoProvider implements ModelProvider {
  readonly label = "offline demo model (set OPENAI_API_KEY or OPENAI_BASE_URL for a real one)";
  readonly defaultModel = "demo";

  constructor(private readonly delayMs = 40) {}

  async *stream(request: ModelRequest): AsyncIterable<ModelEvent> {
    const words = demoReply(request.messages).split(/(?<= )/);
    for (const word of words) {
      await sleep(this.delayMs, request.signal);
      yield { type: "text", delta: word };
    }
    const completionTokens = words.length;
    const promptTokens = request.messages.reduce((n, m) => n + Math.ceil(m.content.length / 4), 0);
    yield {
      type: "usage",
      usage: { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens },
    };
    yield { type: "finish", reason: "stop" };
  }
}

function demoReply(messages: ChatMessage[]): string {
  const last = [...messages].reverse().find((m) => m.role === "user")?.content ?? "";
  const quoted = last.length > 200 ? `${last.slice(0, 200)}…` : last;
  return (
    `[Demo model: no language model is configured, so this reply is canned.] ` +
    `You said: "${quoted}". This text streams word by word, is saved as it arrives, and can be stopped ` +
    `with stopGeneration. Configure OPENAI_API_KEY (or OPENAI_BASE_URL for Ollama, vLLM or llama.cpp) ` +
    `to talk to a real model.`
  );
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
