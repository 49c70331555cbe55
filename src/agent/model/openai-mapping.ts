import type {
  ChatCompletionChunk,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from "openai/resources/chat/completions";
import { attachmentText } from "./attachments.js";
import type { ChatMessage, ModelEvent, ToolSpec } from "./provider.js";

/** Our history in the OpenAI chat-completions message format. */
export function toOpenAIMessages(messages: ChatMessage[]): ChatCompletionMessageParam[] {
  return messages.map((m): ChatCompletionMessageParam => {
    switch (m.role) {
      case "system":
        return { role: "system", content: m.content };
      case "user":
        if (!m.attachments?.length) return { role: "user", content: m.content };
        return {
          role: "user",
          content: [
            { type: "text", text: m.content },
            ...m.attachments.map((a) =>
              a.kind === "image"
                ? { type: "image_url" as const, image_url: { url: a.dataUrl } }
                : { type: "text" as const, text: attachmentText(a) },
            ),
          ],
        };
      case "tool":
        return { role: "tool", tool_call_id: m.toolCallId, content: m.content };
      default:
        return m.toolCalls?.length
          ? {
              role: "assistant",
              content: m.content || null,
              tool_calls: m.toolCalls.map((c) => ({
                id: c.id,
                type: "function",
                function: { name: c.name, arguments: c.arguments },
              })),
            }
          : { role: "assistant", content: m.content };
    }
  });
}

/** Tool specs as OpenAI function tools. */
export function toOpenAITools(tools: ToolSpec[]): ChatCompletionTool[] {
  return tools.map((t) => ({
    type: "function",
    function: { name: t.name, description: t.description, parameters: t.parameters },
  }));
}

/** The events one streamed OpenAI chunk carries, in order. */
export function fromOpenAIChunk(chunk: ChatCompletionChunk): ModelEvent[] {
  const events: ModelEvent[] = [];
  for (const choice of chunk.choices ?? []) {
    const delta = choice.delta;
    // OpenAI-compatible servers stream reasoning beside the text: `reasoning_content` (DeepSeek, vLLM,
    // llama.cpp) or `reasoning` (OpenRouter, Ollama); the SDK's types know neither.
    const extra = delta as { reasoning_content?: unknown; reasoning?: unknown } | undefined;
    const reasoning = extra?.reasoning_content ?? extra?.reasoning;
    if (typeof reasoning === "string" && reasoning !== "")
      events.push({ type: "reasoning", delta: reasoning });
    if (delta?.content) events.push({ type: "text", delta: delta.content });
    for (const call of delta?.tool_calls ?? []) {
      events.push({
        type: "toolCallDelta",
        index: call.index,
        id: call.id ?? undefined,
        name: call.function?.name ?? undefined,
        arguments: call.function?.arguments ?? undefined,
      });
    }
    if (choice.finish_reason) events.push({ type: "finish", reason: choice.finish_reason });
  }
  if (chunk.usage) {
    events.push({
      type: "usage",
      usage: {
        promptTokens: chunk.usage.prompt_tokens,
        completionTokens: chunk.usage.completion_tokens,
        totalTokens: chunk.usage.total_tokens,
      },
    });
  }
  return events;
}
