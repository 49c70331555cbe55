import { BadUserInputError } from "../core/errors.js";

// C0/C1 control characters except tab and newline: invisible, and trouble for the terminals and logs
// that later show a title.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** A title made fit to store: trimmed, single-line, non-empty, at most `max` characters. */
export function normalizeTitle(raw: string, max: number, field = "title"): string {
  const title = raw.replace(CONTROL, "").replace(/\s+/g, " ").trim();
  if (title.length === 0) throw new BadUserInputError("Title must not be empty", field);
  if (title.length > max) throw new BadUserInputError(`Title must be at most ${max} characters`, field);
  return title;
}
