import type { Config } from "../../core/config.js";
import { DemoProvider } from "./demo.js";
import { OpenAIProvider } from "./openai.js";
import type { ModelProvider } from "./provider.js";

/** The provider the configuration names: an OpenAI-compatible endpoint, or the offline demo model. */
export function selectProvider(openai: Config["openai"]): ModelProvider {
  if (!openai.apiKey && !openai.baseURL) return new DemoProvider();
  return new OpenAIProvider({
    apiKey: openai.apiKey,
    baseURL: openai.baseURL,
    model: openai.model ?? "gpt-4o-mini",
    timeoutMs: openai.timeoutMs,
    idleTimeoutMs: openai.idleTimeoutMs,
    maxRetries: openai.maxRetries,
  });
}
