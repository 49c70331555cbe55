import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import type { Db } from "./client.js";
import { isForeignKeyViolation, isUniqueViolation } from "./errors.js";

/** Bytes per `BlobChunk` row, and the most an upload or a download holds at once. */
export const CHUNK_BYTES = 256 * 1024;
/** What file-type needs to sniff a type (its `minimumBytes` and a little more). */
const HEAD_BYTES = 4_100;
/** A blob left without its sha256 this long was an upload whose server died: its bytes are dropped. */
const ABANDONED_AFTER_MS = 60 * 60 * 1000;

/** Where blobs are written: the database (every instance shares it) or a local folder. */
export type BlobStoreKind = "database" | "folder";

/** A blob as readers and cleaners need it. */
export interface BlobRef {
  id: string;
  sha256: string | null;
  store: string;
}

/** What putting a stream learned about its bytes while storing them. */
export interface StoredBlob {
  id: string;
  sha256: string;
  size: number;
  /** The first bytes, for sniffing the content type. */
  head: Uint8Array;
  /** Whether every byte is valid UTF-8 with no NUL: text a model can read. */
  text: boolean;
}

/** The client a store writes through: the shared one, or an import's transaction. */
type BlobDb = Pick<Db, "blob" | "blobChunk">;

/** Thrown by {@link BlobStore.put} when the bytes do not hash to the sha256 they were given with. */
export class BlobHashMismatchError extends Error {
  override readonly name = "BlobHashMismatchError";
}

/** Thrown by {@link BlobStore.put} when the stream passes the size limit; nothing is kept. */
export class BlobTooLargeError extends Error {
  override readonly name = "BlobTooLargeError";
}

/** One blob being written: chunks in order, then kept under its hash or dropped. */
interface BlobSink {
  write(chunk: Uint8Array<ArrayBuffer>, index: number): Promise<void>;
  /** Keeps the bytes; returns the blob's id, an earlier blob's when the same bytes were stored before. */
  commit(sha256: string, size: number): Promise<string>;
  abort(): Promise<void>;
}

/**
 * Content-addressed bytes behind one small interface: writes stream in chunks to the configured store,
 * hashing as they go, and identical bytes are kept once (whichever store holds them); reads stream out.
 */
export class BlobStore {
  constructor(
    private readonly db: BlobDb,
    readonly kind: BlobStoreKind,
    private readonly directory: string,
  ) {}

  /**
   * Streams `source` into the store, refusing with {@link BlobTooLargeError} (and keeping nothing) once it
   * passes `maxBytes`, or with {@link BlobHashMismatchError} when `expectedSha256` is given and the bytes
   * hash otherwise. Memory stays within one chunk, whatever the size.
   */
  async put(
    source: ReadableStream<Uint8Array>,
    maxBytes: number,
    expectedSha256?: string,
  ): Promise<StoredBlob> {
    await this.db.blob.deleteMany({
      where: { sha256: null, createdAt: { lt: new Date(Date.now() - ABANDONED_AFTER_MS) } },
    });
    const sink = this.kind === "database" ? await this.databaseSink() : await this.folderSink();
    const hash = createHash("sha256");
    const utf8 = new TextDecoder("utf-8", { fatal: true });
    let text = true;
    let size = 0;
    let index = 0;
    let head = new Uint8Array(0);
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      // A fresh allocation: backed by an ArrayBuffer, as Prisma's Bytes wants.
      const chunk = Buffer.concat(pending, pendingBytes) as Uint8Array<ArrayBuffer>;
      pending = [];
      pendingBytes = 0;
      await sink.write(chunk, index++);
    };
    const reader = source.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > maxBytes) throw new BlobTooLargeError(`larger than ${maxBytes} bytes`);
        hash.update(value);
        if (head.byteLength < HEAD_BYTES)
          head = Buffer.concat([head, value.subarray(0, HEAD_BYTES - head.byteLength)]);
        if (text) text = isText(utf8, value);
        for (let offset = 0; offset < value.byteLength; ) {
          const part = value.subarray(offset, offset + CHUNK_BYTES - pendingBytes);
          pending.push(part);
          pendingBytes += part.byteLength;
          offset += part.byteLength;
          if (pendingBytes === CHUNK_BYTES) await flush();
        }
      }
      await flush();
      if (text) text = isText(utf8);
      const sha256 = hash.digest("hex");
      if (expectedSha256 !== undefined && sha256 !== expectedSha256)
        throw new BlobHashMismatchError(`the bytes hash to ${sha256}, not ${expectedSha256}`);
      const id = await sink.commit(sha256, size);
      return { id, sha256, size, head, text };
    } catch (error) {
      await reader.cancel().catch(() => {});
      await sink.abort();
      throw error;
    }
  }

  /**
   * The same store writing through `tx`: an import's blobs are rows of its transaction, gone if it fails
   * (a folder store's files are not: the caller removes those whose rows did not last).
   */
  within(tx: BlobDb): BlobStore {
    return new BlobStore(tx, this.kind, this.directory);
  }

  /** The blob's bytes, read a chunk at a time. */
  open(blob: BlobRef): ReadableStream<Uint8Array> {
    if (blob.store === "folder" && blob.sha256) {
      return Readable.toWeb(
        createReadStream(this.pathOf(blob.sha256), { highWaterMark: CHUNK_BYTES }),
      ) as ReadableStream<Uint8Array>;
    }
    let index = 0;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const row = await this.db.blobChunk.findUnique({
            where: { blobId_index: { blobId: blob.id, index: index++ } },
            select: { data: true },
          });
          if (row) controller.enqueue(row.data);
          else controller.close();
        },
      },
      { highWaterMark: 0 },
    );
  }

  /** All of a blob's bytes (for deriving what the model sees; bounded by the upload limit). */
  async read(blob: BlobRef): Promise<Buffer> {
    const parts: Uint8Array[] = [];
    const reader = this.open(blob).getReader();
    for (let next = await reader.read(); !next.done; next = await reader.read()) parts.push(next.value);
    return Buffer.concat(parts);
  }

  /** Removes the files of blobs whose rows were deleted (database blobs went with their rows). */
  async remove(blobs: BlobRef[]): Promise<void> {
    await Promise.all(
      blobs
        .filter((b) => b.store === "folder" && b.sha256)
        .map((b) => rm(this.pathOf(b.sha256 as string), { force: true })),
    );
  }

  private pathOf(sha256: string): string {
    return path.join(this.directory, sha256.slice(0, 2), sha256);
  }

  private async databaseSink(): Promise<BlobSink> {
    const { id } = await this.db.blob.create({ data: { store: "database" }, select: { id: true } });
    const drop = () => this.db.blob.deleteMany({ where: { id } }).then(() => {});
    return {
      write: (data, index) =>
        this.db.blobChunk
          .create({ data: { blobId: id, index, data }, select: { index: true } })
          .then(() => {}),
      commit: async (sha256, size) => {
        const kept = await this.keep(id, sha256, size);
        if (kept !== id) await drop();
        return kept;
      },
      abort: drop,
    };
  }

  private async folderSink(): Promise<BlobSink> {
    const partial = path.join(this.directory, "partial", randomUUID());
    await mkdir(path.dirname(partial), { recursive: true });
    const file = await open(partial, "w");
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await file.close();
    };
    return {
      write: (chunk) => file.write(chunk).then(() => {}),
      commit: async (sha256, size) => {
        await close();
        const existing = await this.db.blob.findUnique({ where: { sha256 }, select: { id: true } });
        if (existing) {
          await rm(partial, { force: true });
          return existing.id;
        }
        const target = this.pathOf(sha256);
        await mkdir(path.dirname(target), { recursive: true });
        // Same name, same bytes: a concurrent upload of the same file may rename onto it too.
        await rename(partial, target);
        const { id } = await this.db.blob.create({ data: { store: "folder" }, select: { id: true } });
        const kept = await this.keep(id, sha256, size);
        if (kept !== id) await this.db.blob.deleteMany({ where: { id } });
        return kept;
      },
      abort: async () => {
        await close();
        await rm(partial, { force: true });
      },
    };
  }

  /** Names a written blob by its hash; when those bytes are already stored, that blob's id instead. */
  private async keep(id: string, sha256: string, size: number): Promise<string> {
    const existing = await this.db.blob.findUnique({ where: { sha256 }, select: { id: true } });
    if (existing) return existing.id;
    try {
      await this.db.blob.update({ where: { id }, data: { sha256, size }, select: { id: true } });
      return id;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const winner = await this.db.blob.findUnique({ where: { sha256 }, select: { id: true } });
      if (!winner) throw error;
      return winner.id;
    }
  }
}

/** Feeds the decoder; false at the first invalid byte or NUL. Without a chunk, checks the end. */
function isText(decoder: TextDecoder, chunk?: Uint8Array): boolean {
  if (chunk?.includes(0)) return false;
  try {
    decoder.decode(chunk, { stream: chunk !== undefined });
    return true;
  } catch {
    return false;
  }
}

/**
 * Deletes the blobs among `ids` that no attachment uses any more, in the statement that checks it; returns
 * them, so the caller removes their files ({@link BlobStore.remove}). An upload of the same bytes that
 * commits its attachment meanwhile makes the delete fail on the foreign key: the blob is in use again, so
 * it is kept and nothing is freed.
 */
export async function freeUnusedBlobs(db: Pick<Db, "$queryRaw">, ids: string[]): Promise<BlobRef[]> {
  if (ids.length === 0) return [];
  try {
    return await db.$queryRaw<BlobRef[]>`
      DELETE FROM "public"."Blob" b
       WHERE b.id = ANY(${ids}::uuid[])
         AND NOT EXISTS (SELECT 1 FROM "public"."Attachment" a WHERE a."blobId" = b.id)
      RETURNING b.id::text AS id, b.sha256, b.store`;
  } catch (error) {
    if (isForeignKeyViolation(error)) return [];
    throw error;
  }
}

/** Of the hashes, those no blob row holds: after a failed import, the folder files that have no owner. */
export async function unheldHashes(db: Db, hashes: string[]): Promise<string[]> {
  if (hashes.length === 0) return [];
  const rows = await db.blob.findMany({ where: { sha256: { in: hashes } }, select: { sha256: true } });
  const held = new Set(rows.map((r) => r.sha256));
  return hashes.filter((h) => !held.has(h));
}
