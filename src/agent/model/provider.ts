/**
 * A file sent with a user message, as the model is given it: an image (downscaled, as a data URL), a file's
 * text, or a note standing for one it cannot read or that did not fit the budget.
 */
export type ModelAttachment =
  | { kind: "image"; name: string; dataUrl: string; width: number; height: number }
  | { kind: "file"; name: string; text: string }
  | { kind: "note"; name: string; text: string };

/** A message of the history handed to a model, in a vendor-neutral form. */
export type ChatMessage =
  | { role: "system"; content: string }
  | {
      role: "user";
      content: string;
      /** The stored message it was read from, whose attachments join it (see agent/runs/attachments.ts). */
      messageId?: string;
      attachments?: ModelAttachment[];
    }
  | { role: "assistant"; content: string; toolCalls?: ModelToolCall[] }
  | { role: "tool"; toolCallId: string; content: string };

/** A complete tool call the model asked for. `arguments` is the raw JSON text the model wrote. */
export interface ModelToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** A tool offered to the model: a name, what it does, and a JSON Schema for its arguments. */
export interface ToolSpec {
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
}

/** Token counts for one model call. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/** What a model streams back: text, fragments of tool calls, usage, and why it stopped. */
export type ModelEvent =
  | { type: "text"; delta: string }
  /** Reasoning the model streams besides its text (shown to people, never sent back to the model). */
  | { type: "reasoning"; delta: string }
  | { type: "toolCallDelta"; index: number; id?: string; name?: string; arguments?: string }
  | { type: "usage"; usage: Usage }
  | { type: "finish"; reason: string };

/** One streamed call to a model. */
export interface ModelRequest {
  messages: ChatMessage[];
  tools?: ToolSpec[];
  /** Overrides the provider's default model. */
  model?: string;
  /** Sampling temperature; absent: the model's own default. */
  temperature?: number;
  signal: AbortSignal;
  /**
   * Called once the events of one read of the model's response have all been taken (the consumer asked for
   * the next): what they added can go on to readers together, at once.
   */
  onReadTaken?: () => void;
}

/** The model seam: everything the agent knows of a model. Implementations map to one vendor's API. */
export interface ModelProvider {
  /** A label for logs: which provider is active. */
  readonly label: string;
  /** The model used when a request names none. */
  readonly defaultModel: string;
  /** Streams a reply; throws a {@link ModelError} on failure, or the signal's reason when aborted. */
  stream(request: ModelRequest): AsyncIterable<ModelEvent>;
}

/** A failure of the model call, with a message fit to store on the message and show to its user. */
export class ModelError extends Error {
  override readonly name = "ModelError";
}
