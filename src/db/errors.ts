import { isDriverAdapterError } from "@prisma/driver-adapter-utils";
import { Prisma } from "./generated/prisma/client.js";

/** Whether Prisma failed because the record an update or delete targets does not exist (P2025). */
export function isRecordNotFound(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2025";
}

/**
 * Whether a statement failed on a unique constraint: P2002 from Prisma, P2010 with that cause from
 * `$queryRaw`, or the driver adapter's own error (a statement sent straight to it: see direct-sql.ts).
 */
export function isUniqueViolation(error: unknown): boolean {
  return isViolation(error, "P2002", "UniqueConstraintViolation");
}

/** Whether a statement failed on a foreign key (P2003, or P2010 or the adapter's error with that cause). */
export function isForeignKeyViolation(error: unknown): boolean {
  return isViolation(error, "P2003", "ForeignKeyConstraintViolation");
}

function isViolation(error: unknown, code: string, kind: string): boolean {
  if (isDriverAdapterError(error)) return error.cause.kind === kind;
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false;
  if (error.code === code) return true;
  const cause = (error.meta?.driverAdapterError as { cause?: { kind?: string } } | undefined)?.cause;
  return error.code === "P2010" && cause?.kind === kind;
}
