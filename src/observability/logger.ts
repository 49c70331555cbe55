import { createRequire } from "node:module";
import { pino } from "pino";

/** The process logger (pino): one line per event; child loggers add request and run ids. */
export type Logger = pino.Logger;

/**
 * What must never reach a log line: credentials in headers (tokens, cookies), API keys and secrets in
 * configuration objects, at the top level or one level down.
 */
export const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "headers.cookie",
  "authorization",
  "*.authorization",
  "apiKey",
  "*.apiKey",
  "secret",
  "*.secret",
  "password",
  "*.password",
];

/**
 * Creates the logger. `LOG_LEVEL` overrides the level; tests default to silence. `stderr` sends the lines
 * there (a stdio MCP server's stdout belongs to the protocol); `destination` anywhere else (tests).
 */
export function createLogger(
  options: {
    level?: string;
    production?: boolean;
    stderr?: boolean;
    destination?: pino.DestinationStream;
  } = {},
): Logger {
  const level = process.env.LOG_LEVEL ?? options.level ?? (process.env.VITEST ? "silent" : "info");
  const settings = { level, redact: { paths: REDACTED_PATHS, censor: "[redacted]" } };
  const destination = options.destination ?? (options.stderr ? pino.destination(2) : undefined);
  if (destination) return pino(settings, destination);
  return pino(prettyInTerminal(options.production ?? false) ? { ...settings, transport: PRETTY } : settings);
}

// pino-pretty is a devDependency: a production install has none and logs JSON lines, as anywhere stdout is
// not a terminal (a file, a pipe, a log collector).
const PRETTY = { target: "pino-pretty", options: { translateTime: "HH:MM:ss.l", ignore: "pid,hostname" } };

/** Readable lines for a developer at a terminal; JSON lines for machines. */
function prettyInTerminal(production: boolean): boolean {
  if (production || !process.stdout.isTTY) return false;
  try {
    createRequire(import.meta.url).resolve("pino-pretty");
    return true;
  } catch {
    return false;
  }
}
