import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";

type ContentBlock = CallToolResult["content"][number];

/**
 * A tool result as text for a chat model: text blocks as they are, embedded text resources by their text,
 * and a short description for what a text model cannot read (images, audio, binary resources, links).
 * With no content, the structured result as JSON.
 */
export function resultText(result: Pick<CallToolResult, "content" | "structuredContent">): string {
  const blocks = result.content ?? [];
  if (blocks.length === 0)
    return result.structuredContent === undefined ? "" : JSON.stringify(result.structuredContent);
  return blocks.map(blockText).join("\n");
}

function blockText(block: ContentBlock): string {
  switch (block.type) {
    case "text":
      return block.text;
    case "image":
    case "audio":
      return `[${block.type} (${block.mimeType}), ${Math.floor((block.data.length * 3) / 4)} bytes, not shown]`;
    case "resource":
      return "text" in block.resource
        ? block.resource.text
        : `[binary resource ${block.resource.uri}${block.resource.mimeType ? ` (${block.resource.mimeType})` : ""}]`;
    case "resource_link":
      return `[resource link: ${block.name} ${block.uri}]`;
    default:
      return `[${(block as { type: string }).type} content]`;
  }
}
