/**
 * A tool result as the model sees it: whole up to `maxChars`, else its beginning and a marker saying how
 * much was left out, so the model knows it holds a partial result. Used for fresh results and for stored
 * ones replayed into later turns, so both read the same.
 */
export function resultForModel(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const omitted = text.length - maxChars;
  return `${text.slice(0, maxChars)}\n[… truncated: ${omitted} of ${text.length} characters not shown]`;
}

/** A tool result as stored: whole up to `maxChars` (a larger limit than the model's), else cut with a marker. */
export function resultForStorage(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return `${text.slice(0, maxChars)}\n[… truncated for storage: ${text.length} characters in total]`;
}
