import type { Db } from "../../db/client.js";
import type { Prisma, ToolCall } from "../../db/generated/prisma/client.js";
import { cancelPendingToolCalls, completeToolCall, insertToolCalls } from "../../db/tool-calls.js";
import type {
  ChatMessage,
  ModelEvent,
  ModelProvider,
  ModelRequest,
  ModelToolCall,
  Usage,
} from "../model/provider.js";
import { ToolCallAssembler } from "../tools/tool-call-assembler.js";
import { resultForModel, resultForStorage } from "../tools/tool-result.js";
import type { Toolbox, ToolOutput } from "../tools/tools.js";
import type { RunChannel } from "./channel.js";
import type { UnnumberedEvent } from "./events.js";
import { handOnNow } from "./feed.js";
import type { ReplyWriter } from "./reply-writer.js";
import { AWAITING_AUTHORIZATION, roundWaits } from "./waits.js";

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
  /** How long a call waits for the user's approval before it is denied. */
  approvalTimeoutMs: number;
}

/** What the loop works with: the run's tools, identity, event channel and text writer. */
export interface ToolLoopOptions {
  prisma: Db;
  provider: ModelProvider;
  toolbox: Toolbox;
  settings: ToolSettings;
  /** The user the reply is for: every tool call acts for this user. */
  userId: string;
  conversationId: string;
  messageId: string;
  channel: RunChannel;
  writer: ReplyWriter;
  signal: AbortSignal;
}

/** The model a reply asks and how: `ModelRequest`'s choices. */
export type ModelChoice = Pick<ModelRequest, "model" | "temperature">;

/** The text that ends a reply whose model still asked for tools after the last allowed round. */
export function roundLimitNote(maxRounds: number): string {
  return `[Stopped: the assistant asked for more tools after ${maxRounds} round${maxRounds === 1 ? "" : "s"} of tool calls, the limit for one reply.]`;
}

/** The result a call that never ran gets when its reply is stopped. */
export const CANCELLED_CALL_RESULT = "The call was cancelled because the reply was stopped.";

/** How a run of the loop ended: the usage summed over its model calls, and whether it paused for approval. */
export interface LoopOutcome {
  usage: Usage | null;
  /** Calls wait for the user's approval: the reply resumes once they are decided. */
  paused: boolean;
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
  readonly calls: ToolCall[];

  /** `existing`: the calls of a paused reply being resumed. */
  constructor(
    private readonly o: ToolLoopOptions,
    existing: ToolCall[] = [],
  ) {
    this.calls = [...existing];
  }

  /**
   * Runs the loop from `history`, from tool round `from.round`, asking `model` (at `temperature`); returns
   * the usage summed over every model call (added to `from.usage`), and whether it paused for approval.
   */
  async run(
    history: ChatMessage[],
    from: { round: number; usage: Usage | null },
    request: ModelChoice,
  ): Promise<LoopOutcome> {
    const messages = [...history];
    let usage = from.usage;
    const { provider, toolbox, signal } = this.o;
    await toolbox.prepare(this.o.userId);
    for (let round = from.round; ; round++) {
      // One model response, read here rather than in a method of its own: an async method waiting for the
      // model's next chunk is one more suspended frame, promise and context for as long as the reply
      // streams (0.5 KB of every open stream, heap snapshots of 1,000).
      const assembler = new ToolCallAssembler();
      // This response's text is the reply's from here on: read there when a round of tool calls needs it,
      // not kept a second time, a piece per chunk, while the reply streams.
      const textStart = this.o.writer.content.length;
      const tools = toolbox.list();
      const { model, temperature } = request;
      const events = provider.stream({ messages, tools, model, temperature, signal, onReadTaken: handOnNow });
      // A response tells its usage once, at its end (the last figure counts).
      let responseUsage: Usage | null = null;
      for await (const event of events) {
        if (event.type === "usage") responseUsage = event.usage;
        else this.take(event, assembler);
      }
      signal.throwIfAborted();
      usage = addUsage(usage, responseUsage);
      const calls = assembler.calls();
      if (calls.length === 0) return { usage, paused: false };
      if (round >= this.o.settings.maxRounds) {
        const note = roundLimitNote(this.o.settings.maxRounds);
        this.writeText(this.o.writer.content === "" ? note : `\n\n${note}`);
        return { usage, paused: false };
      }
      const text = this.o.writer.content.slice(textStart);
      messages.push({ role: "assistant", content: text, toolCalls: calls });
      const results = await this.runRound(round, calls);
      if (results === null) return { usage, paused: true };
      messages.push(...results);
      signal.throwIfAborted();
    }
  }

  /**
   * Resuming a paused reply: runs the calls of its last round that were approved meanwhile and announces
   * the ones denied (their denial is their result). Returns the round the loop continues with.
   */
  async resume(): Promise<number> {
    const { messageId } = this.o;
    const last = Math.max(...this.calls.map((c) => c.round));
    const decided = this.calls.filter((c) => c.round === last && c.decidedAt !== null);
    const approved = decided.filter((c) => c.status === "RUNNING" && c.completedAt === null);
    for (const call of decided)
      if (call.status === "DENIED") this.emit({ type: "ToolCallCompleted", messageId, toolCall: call });
    for (const call of approved) this.emit({ type: "ToolCallStarted", messageId, toolCall: call });
    const settled = await Promise.allSettled(approved.map((row) => this.settle(row, this.replan(row))));
    const failure = settled.find((s) => s.status === "rejected");
    if (failure) throw failure.reason;
    return last + 1;
  }

  /** Whether calls of this reply never ran (waiting, or approved but not started). */
  get hasPending(): boolean {
    return this.calls.some((c) => c.completedAt === null);
  }

  /** Ends the calls that never ran as `CANCELLED` (the reply was stopped). */
  async cancelPending(): Promise<void> {
    if (!this.hasPending) return;
    const completedAt = new Date();
    await cancelPendingToolCalls(this.o.prisma, this.o.messageId, CANCELLED_CALL_RESULT);
    for (const [i, call] of this.calls.entries()) {
      if (call.completedAt !== null) continue;
      this.calls[i] = {
        ...call,
        status: "CANCELLED",
        result: CANCELLED_CALL_RESULT,
        isError: true,
        completedAt,
      };
    }
  }

  /** One event of a model response (all but its usage): text and reasoning go out, call fragments in. */
  private take(event: Exclude<ModelEvent, { type: "usage" }>, assembler: ToolCallAssembler): void {
    if (event.type === "text") {
      this.writeText(event.delta);
    } else if (event.type === "reasoning") {
      const emitted = this.o.channel.emit({
        type: "ReasoningDelta",
        messageId: this.o.messageId,
        delta: event.delta,
      });
      this.o.writer.appendReasoning(event.delta, emitted.seq);
    } else if (event.type === "toolCallDelta") {
      assembler.add(event);
    }
  }

  /**
   * Stores and announces a round's calls, runs them in parallel, and returns their results for the model;
   * null when some of them wait for approval (the others have run: the reply pauses).
   */
  private async runRound(round: number, requested: ModelToolCall[]): Promise<ChatMessage[] | null> {
    const { prisma, messageId, writer } = this.o;
    const planned = requested.map((call) => this.plan(call));
    const { asks, waits, authorizations } = await roundWaits(this.o, planned);
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
        status: waits[i] ? "AWAITING_APPROVAL" : "RUNNING",
        decision: waits[i] && !asks[i] ? AWAITING_AUTHORIZATION : null,
      })),
    );
    for (const [i, row] of rows.entries()) {
      this.calls.push(row);
      if (row.status !== "AWAITING_APPROVAL")
        this.emit({ type: "ToolCallStarted", messageId, toolCall: row });
      else if (asks[i]) this.emit({ type: "ToolApprovalRequested", messageId, toolCall: row });
    }
    for (const [server, authorizationUrl] of authorizations)
      this.emit({ type: "ToolAuthorizationRequired", messageId, server, authorizationUrl });
    const settled = await Promise.allSettled(
      rows.map((row, i) =>
        row.status === "AWAITING_APPROVAL" ? null : this.settle(row, planned[i] as PlannedCall),
      ),
    );
    const failure = settled.find((s) => s.status === "rejected");
    if (failure) throw failure.reason;
    if (waits.some(Boolean)) return null;
    return settled.map((s) => (s as PromiseFulfilledResult<ChatMessage>).value);
  }

  /** A stored (approved) call as planned: what it runs with. */
  private replan(row: ToolCall): PlannedCall {
    const args = (row.arguments ?? {}) as Record<string, unknown>;
    return {
      call: { id: row.callId, name: this.o.toolbox.modelName(row), arguments: JSON.stringify(args) },
      server: row.server,
      name: row.name,
      args,
      storedArguments: row.arguments as Prisma.InputJsonValue,
    };
  }

  /** Runs one call, stores and announces its result, and returns the result as the model will see it. */
  private async settle(row: ToolCall, plan: PlannedCall): Promise<ChatMessage> {
    const { prisma, settings, messageId, signal } = this.o;
    const output = await this.execute(plan);
    const result = resultForStorage(output.content, settings.resultStoreMaxChars);
    const completedAt = new Date();
    const status = signal.aborted ? "CANCELLED" : output.isError ? "FAILED" : "COMPLETED";
    await completeToolCall(prisma, row.id, { result, isError: output.isError, completedAt, status });
    const done: ToolCall = { ...row, result, isError: output.isError, completedAt, status };
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
