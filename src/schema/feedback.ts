import { FeedbackRating } from "../db/generated/prisma/client.js";
import { MAX_FEEDBACK_COMMENT_LENGTH, rateMessage } from "../resolvers/organise.js";
import { builder } from "./builder.js";
import { MessageRef } from "./message.js";

export const FeedbackRatingEnum = builder.enumType(FeedbackRating, {
  name: "FeedbackRating",
  description: "A thumbs up or down.",
});

/** The viewer's rating of an assistant message. */
export const MessageFeedbackRef = builder.prismaObject("MessageFeedback", {
  description: "The viewer's rating of an assistant message.",
  fields: (t) => ({
    rating: t.expose("rating", { type: FeedbackRatingEnum }),
    comment: t.exposeString("comment", { nullable: true }),
    updatedAt: t.expose("updatedAt", { type: "DateTime", description: "When it was last rated." }),
  }),
});

builder.prismaObjectFields(MessageRef, (t) => ({
  feedback: t.relation("feedback", {
    nullable: true,
    description: "The viewer's rating of this (assistant) message; null when there is none.",
  }),
}));

const RateMessageInput = builder.inputType("RateMessageInput", {
  fields: (t) => ({
    messageId: t.id({ required: true, description: "An assistant message of the viewer's." }),
    rating: t.field({
      type: FeedbackRatingEnum,
      description: "UP or DOWN, replacing an earlier rating; null (or absent) removes the rating.",
    }),
    comment: t.string({
      description: `Why (trimmed; at most ${MAX_FEEDBACK_COMMENT_LENGTH} characters). Only with a rating.`,
    }),
  }),
});

const RateMessagePayload = builder
  .objectRef<{ message: typeof MessageRef.$inferType }>("RateMessagePayload")
  .implement({
    fields: (t) => ({ message: t.field({ type: MessageRef, resolve: (p) => p.message }) }),
  });

builder.mutationField("rateMessage", (t) =>
  t.field({
    type: RateMessagePayload,
    description:
      "Rates an assistant message (thumbs up or down, with an optional comment); a null rating clears it.",
    args: { input: t.arg({ type: RateMessageInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      message: await rateMessage(ctx, {
        messageId: String(input.messageId),
        rating: input.rating ?? null,
        comment: input.comment ?? null,
      }),
    }),
  }),
);
