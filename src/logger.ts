import { pino } from "pino";

/** The process logger: JSON lines (pino), one per event; child loggers add request and run ids. */
export type Logger = pino.Logger;

/**
 * Creates the logger. `LOG_LEVEL` overrides the level; tests default to silence. `stderr` sends the lines
 * there (a stdio MCP server's stdout belongs to the protocol).
 */
export function createLogger(
  options: { level?: string; production?: boolean; stderr?: boolean } = {},
): Logger {
  const level = process.env.LOG_LEVEL ?? options.level ?? (process.env.VITEST ? "silent" : "info");
  return pino(
    {
      level,
      redact: {
        paths: ["req.headers.authorization", "headers.authorization", "*.apiKey", "apiKey"],
        censor: "[redacted]",
      },
    },
    options.stderr ? pino.destination(2) : undefined,
  );
}
