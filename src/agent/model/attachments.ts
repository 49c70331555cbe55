import type { ModelAttachment } from "./provider.js";

/** Images are given to the model within OpenAI's high-detail frame: inside 2048x2048, short side 768. */
export const IMAGE_MAX_SIDE = 2048;
export const IMAGE_MAX_SHORT_SIDE = 768;

/** The size an image is downscaled to for the model (never enlarged). */
export function modelImageSize(width: number, height: number): { width: number; height: number } {
  const fit = Math.min(1, IMAGE_MAX_SIDE / Math.max(width, height));
  const short = Math.min(width, height) * fit;
  const scale = fit * Math.min(1, IMAGE_MAX_SHORT_SIDE / short);
  return {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
}

/** Tokens an image costs at high detail by OpenAI's tile formula: 85, plus 170 per 512-pixel tile. */
export function imageTokens(width: number, height: number): number {
  const size = modelImageSize(width, height);
  return 85 + 170 * Math.ceil(size.width / 512) * Math.ceil(size.height / 512);
}

/** The text a model reads for a file attachment or a note. */
export function attachmentText(attachment: ModelAttachment): string {
  switch (attachment.kind) {
    case "file":
      return `Attached file "${attachment.name}":\n${attachment.text}`;
    case "note":
      return attachment.text;
    case "image":
      return "";
  }
}

/** What stands for an attachment that did not fit the history's token budget. */
export function omittedAttachment(name: string): ModelAttachment {
  return { kind: "note", name, text: `[attachment: ${name} omitted]` };
}
