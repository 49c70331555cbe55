import OpenAI from "openai";
import { bodyChunks, createHttpFetch, stopBody } from "./http-fetch.js";
import { fromOpenAIChunk, toOpenAIMessages, toOpenAITools } from "./openai-mapping.js";
import { ChunkDecoder } from "./openai-sse.js";
import { ModelError, type ModelEvent, type ModelProvider, type ModelRequest } from "./provider.js";

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
  private readonly idleTimeoutMs: number;

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
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.label = `openai-compatible (${options.baseURL ?? "api.openai.com"}, model ${options.model})`;
  }

  async *stream(request: ModelRequest): AsyncIterable<ModelEvent> {
    let idle: NodeJS.Timeout | undefined;
    let stalled = false;
    try {
      // The request's own signal stops it; a stall cuts the body itself. No controller of the stream's
      // own: Node gives every abort signal a hidden class and two maps of its own, held as long as it streams.
      const { decoder, body, cut } = await this.open(request);
      // Re-armed by every read that brings chunks: `refresh()` restarts the one timer, no new one per read.
      const armIdleTimer = () => {
        if (idle) idle.refresh();
        else
          idle = setTimeout(() => {
            stalled = true;
            cut();
          }, this.idleTimeoutMs);
      };
      armIdleTimer();
      let finished = false;
      // Only a status without content (204) has no body: a stream that ended before it began. Leaving the
      // loop early (the consumer stopped, or a failure) cancels the body: the rest is not wanted.
      for await (const bytes of body) {
        const chunks = decoder.decode(bytes);
        if (chunks.length > 0) armIdleTimer();
        for (const chunk of chunks)
          for (const event of fromOpenAIChunk(chunk)) {
            if (event.type === "finish") finished = true;
            yield event;
          }
        if (chunks.length > 0) request.onReadTaken?.();
        decoder.throwIfFailed();
      }
      // An aborted or cut connection can end the body quietly: only a finish reason means the end.
      if (!finished) throw new ModelError("The model stream ended before the reply was finished");
    } catch (error) {
      if (request.signal.aborted) throw request.signal.reason;
      if (stalled)
        throw new ModelError(`The model sent nothing for ${this.idleTimeoutMs} ms; the reply was cut off`);
      throw toModelError(error);
    } finally {
      clearTimeout(idle);
    }
  }

  /**
   * The model's response, as its body and a decoder for it. The client still builds the request,
   * authenticates, retries and times out the wait for it; the body is read by the caller, far cheaper per
   * chunk than through the client's `Stream`. The `Response` itself is not kept while the body streams.
   */
  private async open(request: ModelRequest) {
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
    const body = bodyChunks(response);
    const cut = () => stopBody(body, new Error("The model stalled"));
    return { decoder: new ChunkDecoder(response.headers), body, cut };
  }
}

function toModelError(error: unknown): ModelError {
  if (error instanceof OpenAI.APIConnectionTimeoutError)
    return new ModelError("The model did not answer in time");
  if (error instanceof OpenAI.APIConnectionError) return new ModelError("Could not reach the model");
  if (error instanceof OpenAI.APIError) {
    const status = error.status ? ` (HTTP ${error.status})` : "";
    return new ModelError(`The model failed${status}: ${error.error?.message ?? error.message}`);
  }
  if (error instanceof ModelError) return error;
  return new ModelError(`The model stream failed: ${error instanceof Error ? error.message : String(error)}`);
}
