import { countTokens } from "gpt-tokenizer";
import type { ChatMessage } from "./provider.js";

// Chat formats add a few tokens of framing per message (role markers, separators).
const PER_MESSAGE_OVERHEAD = 4;

/** Tokens a message costs in a prompt, counted with the o200k tokenizer (GPT-4o family; close for others). */
export function messageTokens(message: ChatMessage): number {
  const toolCalls = message.role === "assistant" ? (message.toolCalls ?? []) : [];
  const callText = toolCalls.map((c) => `${c.name}${c.arguments}`).join("");
  return PER_MESSAGE_OVERHEAD + countTokens(message.content) + (callText ? countTokens(callText) : 0);
}

/**
 * The history a model sees: the system prompt, then the newest messages whose tokens fit the budget. Older
 * messages are dropped whole; a kept history never starts with tool results whose call was dropped. The
 * newest message is always kept, so a single oversized message still reaches the model.
 */
export function fitHistory(
  systemPrompt: string | undefined,
  messages: ChatMessage[],
  budget: number,
): ChatMessage[] {
  const system: ChatMessage[] = systemPrompt ? [{ role: "system", content: systemPrompt }] : [];
  let remaining = budget - system.reduce((n, m) => n + messageTokens(m), 0);
  let start = messages.length;
  while (start > 0) {
    const cost = messageTokens(messages[start - 1] as ChatMessage);
    if (cost > remaining && start < messages.length) break;
    remaining -= cost;
    start--;
  }
  while (start < messages.length - 1 && messages[start]?.role === "tool") start++;
  return [...system, ...messages.slice(start)];
}
