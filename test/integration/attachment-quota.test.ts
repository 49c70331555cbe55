import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAttachment, usedBytes } from "../../src/db/attachments.js";
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
});
