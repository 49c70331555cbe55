import { z } from "zod";
import type { TreeConversation, TreeMessage } from "../../db/exchange.js";
import { badFile, checkedEntry } from "./json-stream.js";

// A ChatGPT data export's `conversations.json`: an array of conversations, each a tree of nodes
// (`mapping`: id -> { message | null, parent, children }) whose `current_node` is the leaf the user last saw.

const nodeSchema = z.object({
  parent: z.string().nullable().optional(),
  children: z.array(z.string()).optional(),
  message: z
    .object({
      author: z.object({ role: z.string() }),
      create_time: z.number().nullable().optional(),
      content: z.looseObject({ content_type: z.string(), parts: z.array(z.unknown()).optional() }),
      metadata: z.record(z.string(), z.unknown()).nullable().optional(),
      recipient: z.string().optional(),
    })
    .nullable()
    .optional(),
});

const conversationSchema = z.object({
  title: z.string().nullable().optional(),
  create_time: z.number(),
  update_time: z.number().nullable().optional(),
  mapping: z.record(z.string(), nodeSchema),
  current_node: z.string(),
  is_archived: z.boolean().nullable().optional(),
});

type Node = z.infer<typeof nodeSchema>;
type ChatGptMessage = NonNullable<Node["message"]>;

const seconds = (t: number) => new Date(Math.round(t * 1000));

/**
 * The text a node shows, or null when it shows none (skipped): string parts joined (`text`, and the string
 * parts of `multimodal_text` and other kinds), else a `text` field (`code`); images and other objects are
 * left out.
 */
function textOf(message: ChatGptMessage): string | null {
  const { content } = message;
  const parts = (content.parts ?? []).filter((p): p is string => typeof p === "string");
  if (parts.length > 0) return parts.join("\n").length > 0 ? parts.join("\n") : null;
  const text = (content as Record<string, unknown>).text;
  return typeof text === "string" && text.length > 0 ? text : null;
}

/** What a node becomes: a message of ours, or nothing (a system prompt, a hidden or tool node, no text). */
function roleOf(message: ChatGptMessage): "USER" | "ASSISTANT" | null {
  if (message.metadata?.is_visually_hidden_from_conversation === true) return null;
  // An assistant's message addressed to a tool (code for the python tool, a browsing query) is a call.
  if (message.recipient !== undefined && message.recipient !== "all") return null;
  if (message.author.role === "user") return "USER";
  if (message.author.role === "assistant") return "ASSISTANT";
  return null;
}

/**
 * One conversation of a ChatGPT export as the tree to write. Nodes that show nothing to the user (system
 * and hidden messages, tool calls and outputs, content without text) are dropped and their children hung on
 * the nearest kept ancestor, so branches survive (an edited message is a node with two children). The
 * active path ends at the nearest kept ancestor of `current_node`. Returns the tree and how many nodes
 * with a message were skipped.
 */
export function fromChatGpt(
  value: unknown,
  index: number,
  titleLength: number,
): { tree: TreeConversation; skipped: number } {
  const where = `conversation ${index}`;
  const c = checkedEntry(conversationSchema, value, where);
  const { mapping } = c;
  if (!(c.current_node in mapping))
    throw badFile(`${where}.current_node: "${c.current_node}" is not a node of its mapping`);
  const createdAt = seconds(c.create_time);
  const updatedAt = c.update_time == null ? createdAt : seconds(c.update_time);

  const messages: TreeMessage[] = [];
  const kept = new Set<string>();
  let skipped = 0;
  // Depth-first from the roots, children in their listed order: a parent is always written before its
  // children, and versions keep their order. `visited` guards against a malformed mapping's cycles.
  const visited = new Set<string>();
  const roots = Object.keys(mapping).filter((id) => {
    const parent = mapping[id]?.parent;
    return parent == null || !(parent in mapping);
  });
  const stack: { id: string; parentKey: string | null; parentTime: Date }[] = roots
    .reverse()
    .map((id) => ({ id, parentKey: null, parentTime: createdAt }));
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    if (visited.has(item.id)) continue;
    visited.add(item.id);
    const node = mapping[item.id] as Node;
    const message = node.message;
    let key = item.parentKey;
    let time = item.parentTime;
    if (message) {
      const role = roleOf(message);
      const text = role && textOf(message);
      if (role && text) {
        time = message.create_time == null ? item.parentTime : seconds(message.create_time);
        const model = message.metadata?.model_slug;
        messages.push({
          key: item.id,
          parentKey: item.parentKey,
          role,
          content: text,
          reasoning: null,
          status: "COMPLETE",
          error: null,
          model: role === "ASSISTANT" && typeof model === "string" ? model : null,
          usage: null,
          createdAt: time,
          updatedAt: time,
          feedback: null,
          toolCalls: [],
        });
        kept.add(item.id);
        key = item.id;
      } else if (message.author.role !== "system") skipped += 1;
    }
    const children = (node.children ?? []).filter((id) => id in mapping);
    for (const child of children.reverse()) stack.push({ id: child, parentKey: key, parentTime: time });
  }

  let leaf: string | null = c.current_node;
  const seenOnWay = new Set<string>();
  while (leaf !== null && !kept.has(leaf) && !seenOnWay.has(leaf)) {
    seenOnWay.add(leaf);
    const parent: string | null | undefined = mapping[leaf]?.parent;
    leaf = parent != null && parent in mapping ? parent : null;
  }
  if (leaf !== null && !kept.has(leaf)) leaf = null;
  return {
    tree: {
      title: (c.title?.trim() || "Imported conversation").slice(0, titleLength),
      createdAt,
      updatedAt,
      activityAt: updatedAt,
      archivedAt: c.is_archived ? updatedAt : null,
      pinnedAt: null,
      tags: [],
      activeLeafKey: leaf,
      messages,
    },
    skipped,
  };
}
