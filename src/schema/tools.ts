import {
  authorizeToolServer,
  decideToolCall,
  disconnectToolServer,
  revokePermission,
  viewerToolPermissions,
  viewerToolServers,
} from "../resolvers/tools.js";
import { builder } from "./builder.js";
import { ToolCallRef } from "./tool-call.js";
import { ViewerRef } from "./viewer.js";

const ApprovalScopeEnum = builder.enumType("ApprovalScope", {
  description:
    "How long an approval holds: this call (ONCE), every call of the tool in this conversation (CONVERSATION), or in all of the user's conversations (ALWAYS).",
  values: ["ONCE", "CONVERSATION", "ALWAYS"] as const,
});

const ToolServerStatusEnum = builder.enumType("ToolServerStatus", {
  description:
    "CONNECTED: its tools are offered; NEEDS_AUTHORIZATION: the user must authorize it first; UNAVAILABLE: not reachable now (it keeps being retried).",
  values: ["CONNECTED", "NEEDS_AUTHORIZATION", "UNAVAILABLE"] as const,
});

type ToolInfo = { name: string; description: string | null; requiresApproval: boolean };

const ToolRef = builder.objectRef<ToolInfo>("Tool").implement({
  description: "A tool of a tool server.",
  fields: (t) => ({
    name: t.exposeString("name", { description: "The tool's name on its server." }),
    description: t.exposeString("description", { nullable: true }),
    requiresApproval: t.exposeBoolean("requiresApproval", {
      description: "Whether its calls wait for the user's approval (the server's policy).",
    }),
  }),
});

const ToolServerRef = builder
  .objectRef<{
    name: string;
    status: "CONNECTED" | "NEEDS_AUTHORIZATION" | "UNAVAILABLE";
    tools: ToolInfo[];
  }>("ToolServer")
  .implement({
    description: "An MCP server whose tools the assistant may call.",
    fields: (t) => ({
      name: t.exposeString("name"),
      status: t.field({ type: ToolServerStatusEnum, resolve: (s) => s.status }),
      tools: t.field({ type: [ToolRef], resolve: (s) => s.tools }),
    }),
  });

const ToolPermissionRef = builder.prismaObject("ToolPermission", {
  description: "A standing decision to run a tool without asking (`decideToolCall` with `remember`).",
  fields: (t) => ({
    id: t.exposeID("id"),
    server: t.exposeString("server"),
    tool: t.exposeString("tool", { description: "The tool's name on its server." }),
    scope: t.field({
      type: ApprovalScopeEnum,
      select: { conversationId: true },
      resolve: (p) => (p.conversationId === null ? "ALWAYS" : "CONVERSATION"),
    }),
    conversation: t.relation("conversation", {
      nullable: true,
      description: "The conversation it holds in; null: all of them.",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

builder.objectFields(ViewerRef, (t) => ({
  toolServers: t.field({
    type: [ToolServerRef],
    description: "The tool servers configured, their state and their tools.",
    resolve: (_viewer, _args, ctx) => viewerToolServers(ctx),
  }),
  toolPermissions: t.prismaField({
    type: [ToolPermissionRef],
    description: "The user's standing tool permissions, newest first.",
    resolve: (query, _viewer, _args, ctx) => viewerToolPermissions(ctx, query),
  }),
}));

const DecideToolCallInput = builder.inputType("DecideToolCallInput", {
  fields: (t) => ({
    toolCallId: t.id({ required: true, description: "A call that waits (ToolApprovalRequested)." }),
    approve: t.boolean({ required: true }),
    remember: t.field({
      type: ApprovalScopeEnum,
      defaultValue: "ONCE",
      description: "For an approval: also run this tool without asking in this conversation, or always.",
    }),
    reason: t.string({ description: "Why (for a denial, the model is told)." }),
  }),
});
const DecideToolCallPayload = builder
  .objectRef<{ toolCall: typeof ToolCallRef.$inferType }>("DecideToolCallPayload")
  .implement({ fields: (t) => ({ toolCall: t.field({ type: ToolCallRef, resolve: (p) => p.toolCall }) }) });

const RevokeToolPermissionInput = builder.inputType("RevokeToolPermissionInput", {
  fields: (t) => ({ id: t.id({ required: true }) }),
});
const RevokeToolPermissionPayload = builder
  .objectRef<{ revokedId: string }>("RevokeToolPermissionPayload")
  .implement({ fields: (t) => ({ revokedId: t.exposeID("revokedId") }) });

const AuthorizeToolServerInput = builder.inputType("AuthorizeToolServerInput", {
  fields: (t) => ({ server: t.string({ required: true, description: 'A server with `"auth": "oauth"`.' }) }),
});
const AuthorizeToolServerPayload = builder
  .objectRef<{ authorizationUrl: string | null }>("AuthorizeToolServerPayload")
  .implement({
    fields: (t) => ({
      authorizationUrl: t.exposeString("authorizationUrl", {
        nullable: true,
        description: "Open it in the user's browser; null when the server is already authorized.",
      }),
    }),
  });
const DisconnectToolServerInput = builder.inputType("DisconnectToolServerInput", {
  fields: (t) => ({ server: t.string({ required: true }) }),
});
const DisconnectToolServerPayload = builder
  .objectRef<{ server: string }>("DisconnectToolServerPayload")
  .implement({ fields: (t) => ({ server: t.exposeString("server") }) });

builder.mutationFields((t) => ({
  authorizeToolServer: t.field({
    type: AuthorizeToolServerPayload,
    description:
      "Starts connecting a tool server with the user's own account (OAuth 2.1 with PKCE; the server's authorization server is discovered, and this backend registers itself where it may): returns the URL to open. The authorization server sends the browser back to `/oauth/callback`; the tokens are then stored encrypted for this user and refreshed silently.",
    args: { input: t.arg({ type: AuthorizeToolServerInput, required: true }) },
    resolve: (_root, { input }, ctx) => authorizeToolServer(ctx, input.server),
  }),
  disconnectToolServer: t.field({
    type: DisconnectToolServerPayload,
    description: "Forgets the user's tokens for a tool server: it needs authorizing again.",
    args: { input: t.arg({ type: DisconnectToolServerInput, required: true }) },
    resolve: (_root, { input }, ctx) => disconnectToolServer(ctx, input.server),
  }),
  decideToolCall: t.field({
    type: DecideToolCallPayload,
    description:
      "Approves or denies a tool call that waits for approval, from any of the user's devices; the reply resumes once none of its calls waits. A denial goes back to the model as the tool's result. Another user's call is NOT_FOUND; a call already decided or ended is CONFLICT.",
    args: { input: t.arg({ type: DecideToolCallInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      decideToolCall(ctx, {
        toolCallId: String(input.toolCallId),
        approve: input.approve,
        remember: input.remember,
        reason: input.reason,
      }),
  }),
  revokeToolPermission: t.field({
    type: RevokeToolPermissionPayload,
    description: "Removes a standing tool permission: later calls of the tool ask again.",
    args: { input: t.arg({ type: RevokeToolPermissionInput, required: true }) },
    resolve: (_root, { input }, ctx) => revokePermission(ctx, String(input.id)),
  }),
}));
