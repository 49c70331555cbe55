import OpenAI from "openai";
import { bodyChunks, createHttpFetch } from "./http-fetch.js";
import { toOpenAIMessages, toOpenAITools } from "./openai-mapping.js";
import { ChunkDecoder } from "./openai-sse.js";
import type { ModelEvent, ModelProvider, ModelRequest } from "./provider.js";
import { type OpenedResponse, ResponseEvents, Stalls } from "./response-events.js";

/** Settings of an OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, llama.cpp, …). */
export interface OpenAIProviderOptions {
  apiKey?: string;
  baseURL?: string;
  model: string;
  /** Longest wait for the response to start. */
  timeoutMs: number;
  /** Longest silence between two chunks once streaming: a stalled stream fails instead of hanging. */
  idleTimeoutMs: number;
  /** Retries (with the client's exponential backoff) on 408/409/429/5xx and connection errors, before any token. */
  maxRetries: number;
}

/** A model reached through the `openai` package's chat-completions streaming API. */
export class OpenAIProvider implements ModelProvider {
  readonly label: string;
  readonly defaultModel: string;
  private readonly client: OpenAI;
  private readonly stalls: Stalls;

  constructor(options: OpenAIProviderOptions) {
    this.client = new OpenAI({
      // Local servers (Ollama, llama.cpp) need no key, but the client insists on one.
      apiKey: options.apiKey ?? "not-needed",
      baseURL: options.baseURL,
      timeout: options.timeoutMs,
      maxRetries: options.maxRetries,
      fetch: createHttpFetch(),
    });
    this.defaultModel = options.model;
    this.stalls = new Stalls(options.idleTimeoutMs);
    this.label = `openai-compatible (${options.baseURL ?? "api.openai.com"}, model ${options.model})`;
  }

  stream(request: ModelRequest): AsyncIterable<ModelEvent> {
    return new ResponseEvents(request, () => this.open(request), this.stalls);
  }

  /**
   * The model's response, as its body and a decoder for it. The client still builds the request,
   * authenticates, retries and times out the wait for it; the body is read by the caller, far cheaper per
   * chunk than through the client's `Stream`. The `Response` itself is not kept while the body streams.
   */
  private async open(request: ModelRequest): Promise<OpenedResponse> {
    const response = await this.client.chat.completions
      .create(
        {
          model: request.model ?? this.defaultModel,
          messages: toOpenAIMessages(request.messages),
          ...(request.tools?.length ? { tools: toOpenAITools(request.tools) } : {}),
          ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
          stream: true,
          stream_options: { include_usage: true },
        },
        { signal: request.signal },
      )
      .asResponse();
    return { decoder: new ChunkDecoder(), body: bodyChunks(response) };
  }
}
