import type { Db } from "../../src/db/client.js";

/** Inserts a conversation with `messages` alternating user/assistant messages, straight through Prisma. */
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
  const conversation = await prisma.conversation.create({
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
    await prisma.message.createMany({
      data: Array.from({ length: count }, (_, i) => ({
        conversationId: conversation.id,
        ownerId,
        position: i + 1,
        role: i % 2 === 0 ? ("USER" as const) : ("ASSISTANT" as const),
        content: `message ${i + 1}`,
        createdAt,
      })),
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
