import { cutResultLength } from "../agent/runs/events.js";
import { ToolCallStatus } from "../db/generated/prisma/client.js";
import { builder } from "./builder.js";

export const ToolCallStatusEnum = builder.enumType(ToolCallStatus, {
  name: "ToolCallStatus",
  description:
    "AWAITING_APPROVAL until the user decides (`decideToolCall`); RUNNING, then COMPLETED or FAILED; DENIED (by the user or the approval timeout: the denial is its result); CANCELLED (the reply was stopped first).",
});

/** A tool the assistant called while writing a message, with its arguments and result. */
export const ToolCallRef = builder.prismaObject("ToolCall", {
  description: "A tool the assistant called while writing a message.",
  fields: (t) => ({
    id: t.exposeID("id"),
    server: t.exposeString("server", { description: "The MCP server that provides the tool." }),
    name: t.exposeString("name"),
    arguments: t.expose("arguments", { type: "JSON" }),
    result: t.exposeString("result", {
      nullable: true,
      description:
        "The tool's output; null while running. In stream events only its first TOOL_RESULT_EVENT_MAX_CHARS characters (see `resultTruncated`).",
    }),
    resultLength: t.int({
      nullable: true,
      description: "Characters in the whole result; null while running.",
      resolve: (call) => cutResultLength(call) ?? call.result?.length ?? null,
    }),
    resultTruncated: t.boolean({
      description:
        "True when `result` holds only the beginning: stream events bound what they carry. Query the message's `toolCalls` for the whole result.",
      resolve: (call) => cutResultLength(call) !== null,
    }),
    isError: t.exposeBoolean("isError"),
    status: t.expose("status", { type: ToolCallStatusEnum }),
    startedAt: t.expose("startedAt", { type: "DateTime" }),
    decidedAt: t.expose("decidedAt", {
      type: "DateTime",
      nullable: true,
      description: "When a call that needed approval was decided.",
    }),
    decision: t.exposeString("decision", {
      nullable: true,
      description:
        'What was decided on a call that needed approval, and why: "approved", "approved for this conversation", "approved always", "denied", "denied: <reason>", "timed out", "authorized" (it waited for its server\'s authorization alone: "awaiting authorization" until then).',
    }),
    completedAt: t.expose("completedAt", { type: "DateTime", nullable: true }),
  }),
});
