import type { OutgoingMessage } from "node:http";

/** What `_header` holds once the head is on its way. */
const HEAD_SENT = "sent";

/**
 * Lets go of an outgoing message's status line and headers once they are sent. Node keeps them as one
 * string (`_header`) for the message's life, which for a stream is the reply's, but after sending reads it
 * only as a flag (`headersSent`, and the checks that refuse new headers), so any non-empty string does:
 * 0.3 KB a response and 0.4 KB a model request (heap snapshots of 1,000 open streams).
 */
export function forgetSentHead(message: OutgoingMessage): void {
  const internals = message as unknown as { _header: string | null; _headerSent: boolean };
  if (internals._headerSent && internals._header !== HEAD_SENT) internals._header = HEAD_SENT;
}
