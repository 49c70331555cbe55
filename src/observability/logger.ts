import { createRequire } from "node:module";
import { pino } from "pino";

/** The process logger (pino): one line per event; child loggers add request and run ids. */
export type Logger = pino.Logger;

/** Names whose values never reach a log line, at the top level or one level down. */
const SECRET_NAMES = ["authorization", "apiKey", "secret", "password"];

/**
 * What must never reach a log line: credentials in headers (tokens, cookies), API keys and secrets in
 * configuration objects. pino redacts these paths; the same names one level down are redacted by
 * {@link redactNested}: as pino paths (`*.apiKey`) they would send every field of every line through the
 * redactor, which clones the object it is given (a tenth of all a send allocated, three lines a reply).
 */
const REDACTED_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "headers.cookie",
  ...SECRET_NAMES,
];

const CENSOR = "[redacted]";

/**
 * A line's fields with the secret names one level down censored: untouched (and not copied) when there
 * are none, else a copy of the line and of each object holding one, as pino's redaction copies them.
 */
function redactNested(fields: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key in fields) {
    const value = fields[key];
    if (
      value === null ||
      typeof value !== "object" ||
      !SECRET_NAMES.some((name) => Object.hasOwn(value, name))
    )
      continue;
    const censored: Record<string, unknown> = Object.assign(
      Object.create(Object.getPrototypeOf(value)),
      value,
    );
    for (const name of SECRET_NAMES) if (Object.hasOwn(censored, name)) censored[name] = CENSOR;
    copy ??= { ...fields };
    copy[key] = censored;
  }
  return copy ?? fields;
}

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
  const settings = {
    level,
    redact: { paths: REDACTED_PATHS, censor: CENSOR },
    formatters: { log: redactNested },
  };
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
