/**
 * The typed client SDK: the documented operations and fragments of `sdk/operations/*.graphql` as typed
 * documents (`ConversationListDocument`, `SendMessageDocument`, ...) with their result and variables types,
 * for Apollo Client, urql or any client that takes a `TypedDocumentNode`. Regenerate with `npm run codegen`.
 * Cache set-ups live beside it: `sdk/apollo.ts` (Apollo Client) and `sdk/urql.ts` (Graphcache).
 */
export * from "./generated/graphql.js";

import generated from "./generated/possible-types.js";

/** The concrete types of each union and interface (`MessageStreamEvent`, `Node`), for fragment matching. */
export const possibleTypes: Record<string, string[]> = generated.possibleTypes;

/**
 * Headers an upload (a multipart request) needs besides the token: multipart is a form content type, which
 * the API's CSRF prevention refuses unless a header shows the browser asked first.
 */
export const UPLOAD_HEADERS: Record<string, string> = { "apollo-require-preflight": "true" };
