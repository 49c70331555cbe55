import { randomUUID } from "node:crypto";
import type { Db } from "../../src/db/client.js";

/**
 * Inserts a conversation with `messages` alternating user/assistant messages, straight through Prisma: a
 * chain, every message on the active path.
 */
export async function seedConversation(
  prisma: Db,
  ownerId: string,
  options: {
    title?: string;
    messages?: number;
    activityAt?: Date;
    archived?: boolean;
    toolCalls?: boolean;
  } = {},
) {
  const count = options.messages ?? 0;
  let conversation = await prisma.conversation.create({
    data: {
      ownerId,
      title: options.title ?? "Seeded",
      activityAt: options.activityAt ?? new Date(),
      archivedAt: options.archived ? new Date() : null,
      messageCount: count,
    },
  });
  if (count > 0) {
    // Same timestamp for all: the order must come from position, not from the clock.
    const createdAt = new Date();
    const ids = Array.from({ length: count }, () => randomUUID());
    await prisma.message.createMany({
      data: Array.from({ length: count }, (_, i) => ({
        id: ids[i],
        conversationId: conversation.id,
        ownerId,
        position: i + 1,
        parentId: i === 0 ? null : ids[i - 1],
        depth: i + 1,
        childCount: i + 1 < count ? 1 : 0,
        role: i % 2 === 0 ? ("USER" as const) : ("ASSISTANT" as const),
        content: `message ${i + 1}`,
        createdAt,
      })),
    });
    conversation = await prisma.conversation.update({
      where: { id: conversation.id },
      data: { activeLeafId: ids[count - 1], pathLength: count, rootCount: 1 },
    });
  }
  if (options.toolCalls && count > 1) {
    const assistant = await prisma.message.findFirstOrThrow({
      where: { conversationId: conversation.id, role: "ASSISTANT" },
    });
    await prisma.toolCall.create({
      data: {
        messageId: assistant.id,
        position: 0,
        callId: "call_1",
        server: "s",
        name: "t",
        arguments: { a: 1 },
      },
    });
  }
  return conversation;
}
