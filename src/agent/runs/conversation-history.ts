import type { Db } from "../../db/client.js";
import type { Message } from "../../db/columns.js";
import type { ToolCall } from "../../db/generated/prisma/client.js";
import { pathHistory } from "../../db/messages.js";
import type { ChatMessage } from "../model/provider.js";
import { resultForModel } from "../tools/tool-result.js";

/** How stored tool calls are replayed: the name the model knows the tool by, and the result size it sees. */
export interface ToolReplay {
  toolName(call: { server: string; name: string }): string;
  resultMaxChars: number;
}

/**
 * What the model is told after a reply the user stopped, so that it does not take the reply for finished
 * (an unfinished answer, a task half done).
 */
export const STOPPED_REPLY_NOTE =
  "The user stopped the previous assistant reply before it was finished: it is incomplete, and any task it was doing was not completed.";

const asStored: ToolReplay = { toolName: (call) => call.name, resultMaxChars: Number.POSITIVE_INFINITY };

/**
 * The stored messages on the path from the conversation's first message to `lastId` (the new reply's parent),
 * newest `limit` of them, as model history: other branches are never seen. Failed replies with no text are
 * left out: they carry nothing the model said. A user message names its stored message (`messageId`) only
 * when attachments join it.
 */
export async function loadConversationHistory(
  prisma: Db,
  lastId: string,
  limit: number,
  replay: ToolReplay = asStored,
): Promise<ChatMessage[]> {
  const { rows, withFiles } = await pathHistory(prisma, lastId, limit);
  // Only the user messages that carry attachments name their stored message: the others need no lookup.
  return toChatMessages(rows, replay).map((m) =>
    m.role === "user" && m.messageId !== undefined && !withFiles.has(m.messageId)
      ? { role: "user", content: m.content }
      : m,
  );
}

/** Stored messages as model history; an assistant message's tool calls are followed by their results. */
export function toChatMessages(
  rows: (Message & { toolCalls: ToolCall[] })[],
  replay: ToolReplay = asStored,
): ChatMessage[] {
  const history: ChatMessage[] = [];
  for (const row of rows) {
    switch (row.role) {
      case "USER":
        history.push({ role: "user", content: row.content, messageId: row.id });
        break;
      case "SYSTEM":
        history.push({ role: "system", content: row.content });
        break;
      case "ASSISTANT": {
        if (row.status === "FAILED" && row.content === "" && row.toolCalls.length === 0) break;
        history.push(...assistantTurns(row, replay));
        // Stopped by the user (other cancellations, such as a shutdown, store why in `error`).
        if (row.status === "CANCELLED" && row.error === null)
          history.push({ role: "system", content: STOPPED_REPLY_NOTE });
        break;
      }
      case "TOOL":
        break; // tool results live on the assistant message's tool calls
    }
  }
  return history;
}

/**
 * One stored assistant message as the turns the model produced: for each tool round, the call request and
 * the results, then the final text. Rounds are told apart by the text the model wrote before them
 * (`ToolCall.textOffset`), so the replay matches what the model saw.
 */
function assistantTurns(row: Message & { toolCalls: ToolCall[] }, replay: ToolReplay): ChatMessage[] {
  if (row.toolCalls.length === 0) return [{ role: "assistant", content: row.content }];
  const turns: ChatMessage[] = [];
  const rounds = new Map<number, ToolCall[]>();
  for (const call of row.toolCalls) rounds.set(call.round, [...(rounds.get(call.round) ?? []), call]);
  let consumed = 0;
  for (const calls of [...rounds.entries()].sort(([a], [b]) => a - b).map(([, c]) => c)) {
    const offset = Math.max(consumed, calls[0]?.textOffset ?? consumed);
    turns.push({
      role: "assistant",
      content: row.content.slice(consumed, offset),
      toolCalls: calls.map((c) => ({ id: c.callId, name: replay.toolName(c), arguments: argumentsText(c) })),
    });
    for (const c of calls) {
      const content = c.result === null ? "(no result)" : resultForModel(c.result, replay.resultMaxChars);
      turns.push({ role: "tool", toolCallId: c.callId, content });
    }
    consumed = offset;
  }
  const rest = row.content.slice(consumed);
  if (rest !== "") turns.push({ role: "assistant", content: rest });
  return turns;
}

/** The arguments as the model wrote them: malformed ones were stored as the text they were. */
function argumentsText(call: ToolCall): string {
  return typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments);
}
