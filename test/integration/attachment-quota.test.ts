import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAttachment, usedBytes } from "../../src/db/attachments.js";
import { insertImportedAttachments } from "../../src/db/exchange.js";
import { type OpenTestDatabase, openTestDatabase, testDatabaseKinds } from "../utils/databases.js";

// The quota holds for uploads that finish at the same moment: each records its attachment in its own
// statement, on its own connection of the pool (PostgreSQL), and none may count on the others' being absent.
describe.each(testDatabaseKinds())("the attachment quota under concurrent uploads on %s", (kind) => {
  let opened: OpenTestDatabase;

  beforeAll(async () => {
    opened = await openTestDatabase(kind, { migrate: true });
  });
  afterAll(() => opened?.close());

  it("records no more than the quota when many uploads finish at once", async () => {
    const { prisma } = opened;
    const ownerId = `quota-${randomUUID()}`;
    const blob = await prisma.blob.create({ data: { store: "database", size: 10 } });
    const quota = 100;
    const size = 30; // three fit, not four
    for (let round = 0; round < 5; round++) {
      await prisma.attachment.deleteMany({ where: { ownerId } });
      const recorded = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          insertAttachment(
            prisma,
            {
              ownerId,
              filename: `f${i}`,
              contentType: "text/plain",
              size,
              sha256: "x",
              kind: "TEXT",
              blobId: blob.id,
            },
            quota,
          ),
        ),
      );
      expect(recorded.filter((a) => a !== null)).toHaveLength(3);
      expect(await usedBytes(prisma, ownerId)).toBe(90);
    }
  });

  it("holds for imports that record their files at the same moment", async () => {
    const { prisma } = opened;
    const ownerId = `import-${randomUUID()}`;
    const blob = await prisma.blob.create({ data: { store: "database", size: 10 } });
    const conversation = await prisma.conversation.create({ data: { ownerId, title: "imported" } });
    const message = await prisma.message.create({
      data: { conversationId: conversation.id, ownerId, position: 1, role: "USER", content: "files" },
    });
    for (let round = 0; round < 2; round++) {
      await prisma.attachment.deleteMany({ where: { ownerId } });
      // Each import is its own transaction, failed (nothing kept) when its files pass the quota. Each waits,
      // before it commits, until all have checked (or 300 ms, for those the quota's lock holds back): checks
      // that did not wait for each other would each see only their own files, and all would fit.
      const count = 8;
      let checked = 0;
      let allChecked = () => {};
      const everyoneChecked = new Promise<void>((resolve) => {
        allChecked = resolve;
      });
      const imports = await Promise.allSettled(
        Array.from({ length: count }, (_, i) =>
          prisma.$transaction(async (tx) => {
            const file = {
              key: `k${i}`,
              filename: `f${i}`,
              sha256: "x",
              createdAt: new Date(),
              messageId: message.id,
              position: i,
              blobId: blob.id,
              size: 30,
              kind: "TEXT" as const,
              contentType: "text/plain",
            };
            const fits = await insertImportedAttachments(tx, ownerId, [file], 100);
            if (++checked === count) allChecked();
            await Promise.race([everyoneChecked, new Promise((resolve) => setTimeout(resolve, 300))]);
            if (!fits) throw new Error("over the quota");
          }),
        ),
      );
      expect(imports.filter((r) => r.status === "fulfilled")).toHaveLength(3);
      expect(await usedBytes(prisma, ownerId)).toBe(90);
    }
  });
});
