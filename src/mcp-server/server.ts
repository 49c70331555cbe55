import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { CallToolResult, ServerNotification, ServerRequest } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { ClientError } from "../core/errors.js";
import { databaseIdOf } from "../core/ids.js";
import type { Db } from "../db/client.js";
import { conversationWithMessages, recentConversations, searchUserMessages } from "./conversations.js";

/** What a tool handler learns of its request. */
export type ToolRequestExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * Who a request acts for, or undefined when it names nobody (the tool then refuses). Each transport
 * decides: the verified JWT over HTTP, the token given at start over stdio, the `_meta` our own agent sets
 * in process.
 */
export type IdentifyUser = (extra: ToolRequestExtra) => string | undefined;

/** The name and version the built-in server announces. */
const CHAT_MCP_SERVER = { name: "chat-backend", version: "0.1.0" };

/**
 * The built-in MCP server: this backend's own data as tools, always scoped to the calling user. One
 * instance per connection (or per request over stateless HTTP); it holds no state of its own.
 */
export function createChatMcpServer(prisma: Db, identify: IdentifyUser): McpServer {
  const server = new McpServer(CHAT_MCP_SERVER, {
    instructions:
      "Tools over the calling user's own chat history: search their messages, list their conversations, read one.",
  });

  server.registerTool(
    "search_messages",
    {
      title: "Search messages",
      description:
        'Full-text search over the user\'s messages, best matches first. Query syntax: words, "exact phrases", `or` between alternatives, -excluded. Each result names its conversation and position, for get_conversation.',
      inputSchema: {
        query: z.string().min(1).max(500).describe("What to look for."),
        conversationId: z.string().min(1).optional().describe("Only search this conversation."),
        first: z.number().int().min(1).max(50).default(10).describe("How many results (1-50)."),
        after: z.string().optional().describe("The nextCursor of the previous page, for more results."),
        includeArchived: z.boolean().default(false).describe("Also search archived conversations."),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args, extra) =>
      asUser(identify, extra, async (ownerId) => {
        const page = await searchUserMessages(prisma, ownerId, args);
        return page ? json(page) : error(`No conversation with id ${args.conversationId}`);
      }),
  );

  server.registerTool(
    "list_conversations",
    {
      title: "List conversations",
      description:
        "The user's conversations, pinned ones first, then the most recently active; with their tags and ids for get_conversation.",
      inputSchema: {
        limit: z.number().int().min(1).max(100).default(20).describe("How many conversations (1-100)."),
        includeArchived: z.boolean().default(false).describe("Include archived conversations."),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (args, extra) =>
      asUser(identify, extra, async (ownerId) =>
        json({ conversations: await recentConversations(prisma, ownerId, args) }),
      ),
  );

  server.registerTool(
    "get_conversation",
    {
      title: "Read a conversation",
      description:
        "One of the user's conversations with its messages, oldest first: the newest `limit` messages, or those before `beforePosition` to page back.",
      inputSchema: {
        conversationId: z
          .string()
          .min(1)
          .describe("The conversation's id (as search_messages or the API gives it)."),
        limit: z.number().int().min(1).max(200).default(50).describe("How many messages (1-200)."),
        beforePosition: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe("Only messages before this position (for paging back through a long conversation)."),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async ({ conversationId, limit, beforePosition }, extra) =>
      asUser(identify, extra, async (ownerId) => {
        const id = databaseIdOf(conversationId, "Conversation");
        const found = id
          ? await conversationWithMessages(prisma, ownerId, id, { limit, beforePosition })
          : null;
        return found ? json(found) : error(`No conversation with id ${conversationId}`);
      }),
  );

  return server;
}

async function asUser(
  identify: IdentifyUser,
  extra: ToolRequestExtra,
  run: (userId: string) => Promise<CallToolResult>,
): Promise<CallToolResult> {
  const userId = identify(extra);
  if (userId === undefined)
    return error("This request names no user; the tools act for an authenticated user only");
  try {
    return await run(userId);
  } catch (failure) {
    // Input the search refuses (an empty query, a stale cursor) is the caller's to fix: say why.
    if (failure instanceof ClientError) return error(failure.message);
    throw failure;
  }
}

/** A result as JSON text for models, and as structured content for programs. */
function json(value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value) }], structuredContent: value };
}

function error(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}
