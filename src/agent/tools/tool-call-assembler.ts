import { newUuid } from "../../core/ids.js";
import type { ModelEvent, ModelToolCall } from "../model/provider.js";

type ToolCallDelta = Extract<ModelEvent, { type: "toolCallDelta" }>;

/**
 * Rebuilds the tool calls of one model response from their streamed fragments. OpenAI-style streams send
 * each call's id and name once and its JSON arguments in pieces, all keyed by the call's `index`.
 */
export class ToolCallAssembler {
  /** Made by the first fragment: most replies call no tool, and a map holds 0.2 KB as long as they stream. */
  private byIndex: Map<number, { id?: string; name: string; arguments: string }> | undefined;

  /** Adds one fragment. */
  add(delta: ToolCallDelta): void {
    this.byIndex ??= new Map();
    const call = this.byIndex.get(delta.index) ?? { name: "", arguments: "" };
    if (delta.id) call.id = delta.id;
    // Names arrive whole (as the openai package's own accumulator assumes); arguments arrive in pieces.
    if (delta.name) call.name = delta.name;
    if (delta.arguments) call.arguments += delta.arguments;
    this.byIndex.set(delta.index, call);
  }

  /** The complete calls in index order. A call the model sent without an id gets one, to pair its result. */
  calls(): ModelToolCall[] {
    return [...(this.byIndex?.entries() ?? [])]
      .sort(([a], [b]) => a - b)
      .map(([, c]) => ({
        id: c.id ?? `call_${newUuid().replaceAll("-", "")}`,
        name: c.name,
        arguments: c.arguments,
      }));
  }
}
