import { builder } from "./builder.js";

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
      description: "The tool's output; null while running.",
    }),
    isError: t.exposeBoolean("isError"),
    startedAt: t.expose("startedAt", { type: "DateTime" }),
    completedAt: t.expose("completedAt", { type: "DateTime", nullable: true }),
  }),
});
