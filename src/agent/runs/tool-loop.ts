import type { Db } from "../../db/client.js";
import type { Prisma, ToolCall } from "../../db/generated/prisma/client.js";
import { completeToolCall, insertToolCalls } from "../../db/tool-calls.js";
import type { ChatMessage, ModelProvider, ModelToolCall, Usage } from "../model/provider.js";
import { ToolCallAssembler } from "../tools/tool-call-assembler.js";
import { resultForModel, resultForStorage } from "../tools/tool-result.js";
import type { Toolbox, ToolOutput } from "../tools/tools.js";
import type { RunChannel } from "./channel.js";
import type { UnnumberedEvent } from "./events.js";
import type { ReplyWriter } from "./reply-writer.js";

/** Limits of the tool loop. */
export interface ToolSettings {
  /** Rounds of tool calls a reply may make; a model still asking for tools after them is stopped. */
  maxRounds: number;
  callTimeoutMs: number;
  /** Longest result the model sees (longer ones are truncated with a marker). */
  resultMaxChars: number;
  /** Longest result stored (larger than `resultMaxChars`: the whole result is kept for people). */
  resultStoreMaxChars: number;
  /** Longest result an event carries (smaller than `resultMaxChars`: events go to every client). */
  resultEventMaxChars: number;
}

/** What the loop works with: the run's model, tools, identity, event channel and text writer. */
export interface ToolLoopOptions {
  prisma: Db;
  provider: ModelProvider;
  toolbox: Toolbox;
  settings: ToolSettings;
  model: string;
  /** The user the reply is for: every tool call acts for this user. */
  userId: string;
  messageId: string;
  channel: RunChannel;
  writer: ReplyWriter;
  signal: AbortSignal;
}

/** The text that ends a reply whose model still asked for tools after the last allowed round. */
export function roundLimitNote(maxRounds: number): string {
  return `[Stopped: the assistant asked for more tools after ${maxRounds} round${maxRounds === 1 ? "" : "s"} of tool calls, the limit for one reply.]`;
}

/** A requested call, checked before it runs: where it goes, with what, or why it cannot run. */
interface PlannedCall {
  call: ModelToolCall;
  server: string;
  name: string;
  args: Record<string, unknown>;
  storedArguments: Prisma.InputJsonValue;
  /** Set when the call cannot run (unknown tool, malformed arguments); sent to the model as the result. */
  error?: string;
}

/**
 * The agent's tool loop for one reply: stream a model response, and while it asks for tools, run that
 * round's calls in parallel (each stored as a `ToolCall` row and announced by `ToolCallStarted` /
 * `ToolCallCompleted`), hand the results back and ask again, up to `maxRounds` rounds. Tool failures,
 * timeouts, unknown tools and malformed arguments go back to the model as error results; an abort (stop)
 * cancels running calls and ends the loop by throwing the signal's reason.
 */
export class ToolLoop {
  /** The reply's tool calls as they stand, in order: what a snapshot of the reply shows. */
  readonly calls: ToolCall[] = [];

  constructor(private readonly o: ToolLoopOptions) {}

  /** Runs the loop from `history`; returns the usage summed over every model call. */
  async run(history: ChatMessage[]): Promise<Usage | null> {
    const messages = [...history];
    let usage: Usage | null = null;
    for (let round = 0; ; round++) {
      const response = await this.streamResponse(messages);
      usage = addUsage(usage, response.usage);
      if (response.calls.length === 0) return usage;
      if (round >= this.o.settings.maxRounds) {
        const note = roundLimitNote(this.o.settings.maxRounds);
        this.writeText(this.o.writer.content === "" ? note : `\n\n${note}`);
        return usage;
      }
      messages.push({ role: "assistant", content: response.text, toolCalls: response.calls });
      messages.push(...(await this.runRound(round, response.calls)));
      this.o.signal.throwIfAborted();
    }
  }

  private async streamResponse(messages: ChatMessage[]) {
    const { provider, toolbox, model, signal } = this.o;
    const assembler = new ToolCallAssembler();
    let text = "";
    let usage: Usage | null = null;
    for await (const event of provider.stream({ messages, tools: toolbox.list(), model, signal })) {
      if (event.type === "text") {
        text += event.delta;
        this.writeText(event.delta);
      } else if (event.type === "toolCallDelta") {
        assembler.add(event);
      } else if (event.type === "usage") {
        usage = event.usage;
      }
    }
    signal.throwIfAborted();
    return { text, calls: assembler.calls(), usage };
  }

  /** Stores and announces a round's calls, runs them in parallel, and returns their results for the model. */
  private async runRound(round: number, requested: ModelToolCall[]): Promise<ChatMessage[]> {
    const { prisma, messageId, writer } = this.o;
    const planned = requested.map((call) => this.plan(call));
    const first = this.calls.length;
    const rows = await insertToolCalls(
      prisma,
      planned.map((p, i) => ({
        messageId,
        position: first + i,
        round,
        textOffset: writer.content.length,
        callId: p.call.id,
        server: p.server,
        name: p.name,
        arguments: p.storedArguments,
      })),
    );
    for (const row of rows) {
      this.calls.push(row);
      this.emit({ type: "ToolCallStarted", messageId, toolCall: row });
    }
    const settled = await Promise.allSettled(
      rows.map((row, i) => this.settle(row, planned[i] as PlannedCall)),
    );
    const failure = settled.find((s) => s.status === "rejected");
    if (failure) throw failure.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<ChatMessage>).value);
  }

  /** Runs one call, stores and announces its result, and returns the result as the model will see it. */
  private async settle(row: ToolCall, plan: PlannedCall): Promise<ChatMessage> {
    const { prisma, settings, messageId } = this.o;
    const output = await this.execute(plan);
    const result = resultForStorage(output.content, settings.resultStoreMaxChars);
    const completedAt = new Date();
    await completeToolCall(prisma, row.id, { result, isError: output.isError, completedAt });
    const done: ToolCall = { ...row, result, isError: output.isError, completedAt };
    this.calls[row.position] = done;
    this.emit({ type: "ToolCallCompleted", messageId, toolCall: done });
    return {
      role: "tool",
      toolCallId: row.callId,
      content: resultForModel(output.content, settings.resultMaxChars),
    };
  }

  private async execute(plan: PlannedCall): Promise<ToolOutput> {
    if (plan.error !== undefined) return { content: plan.error, isError: true };
    const { toolbox, signal, userId, settings } = this.o;
    try {
      return await toolbox.call(plan.call.name, plan.args, {
        userId,
        signal,
        timeoutMs: settings.callTimeoutMs,
      });
    } catch (error) {
      // Toolboxes report failures as results; this is the net for one that throws anyway.
      return {
        content: `The tool failed: ${error instanceof Error ? error.message : String(error)}`,
        isError: true,
      };
    }
  }

  private plan(call: ModelToolCall): PlannedCall {
    const { toolbox } = this.o;
    const address = toolbox.resolve(call.name);
    const parsed = parseArguments(call.arguments);
    const base = {
      call,
      server: address?.server ?? "",
      name: address?.name ?? call.name,
      args: parsed.value ?? {},
      storedArguments: parsed.stored,
    };
    if (!address) {
      const available = toolbox.list().map((t) => t.name);
      const listed =
        available.length > 0 ? `Available tools: ${available.join(", ")}.` : "No tools are available.";
      return { ...base, error: `Unknown tool "${call.name}". ${listed}` };
    }
    if (parsed.error !== undefined) return { ...base, error: parsed.error };
    return base;
  }

  private writeText(delta: string): void {
    const event = this.o.channel.emit({ type: "TextDelta", messageId: this.o.messageId, delta });
    this.o.writer.append(delta, event.seq);
  }

  private emit(event: UnnumberedEvent): void {
    this.o.writer.advance(this.o.channel.emit(event).seq);
  }
}

/**
 * A call's arguments: an object for the tool, what to store, or why they are unusable. Models send `""`
 * for a tool without parameters; that is `{}`. Unparseable text is stored as the string it was.
 */
function parseArguments(raw: string): {
  value?: Record<string, unknown>;
  stored: Prisma.InputJsonValue;
  error?: string;
} {
  if (raw.trim() === "") return { value: {}, stored: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { stored: raw, error: `The arguments are not valid JSON (${why}). Send a JSON object.` };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    return { stored: raw, error: "The arguments must be a JSON object." };
  return { value: parsed as Record<string, unknown>, stored: parsed as Prisma.InputJsonValue };
}

function addUsage(total: Usage | null, usage: Usage | null): Usage | null {
  if (!usage) return total;
  if (!total) return usage;
  return {
    promptTokens: total.promptTokens + usage.promptTokens,
    completionTokens: total.completionTokens + usage.completionTokens,
    totalTokens: total.totalTokens + usage.totalTokens,
  };
}
