import {
  type IncomingMessage,
  type OutgoingHttpHeader,
  type OutgoingHttpHeaders,
  ServerResponse,
} from "node:http";
import { forgetSentHead } from "../core/sent-head.js";

type OutgoingHeaders = OutgoingHttpHeaders | OutgoingHttpHeader[];

/** Node's own writer of a response's bytes, which puts the head before the first of them. */
type Send = (this: ServerResponse, ...args: unknown[]) => boolean;
const send = (ServerResponse.prototype as unknown as { _send: Send })._send;

/**
 * The server's responses, keeping no copy of their status line and headers once these are sent. Node builds
 * the head a piece at a time (`_header`, a rope of about thirty strings for a stream's response) and keeps
 * it: 1 KB a stream, or 0.3 KB flattened (heap snapshots of 1,000 open streams). Until the first bytes go
 * out, it is kept flat: reading a character flattens the rope in place, and the next collection drops its
 * pieces.
 */
export class CompactHeaderResponse<
  Request extends IncomingMessage = IncomingMessage,
> extends ServerResponse<Request> {
  override writeHead(statusCode: number, statusMessage?: string, headers?: OutgoingHeaders): this;
  override writeHead(statusCode: number, headers?: OutgoingHeaders): this;
  override writeHead(
    statusCode: number,
    message?: string | OutgoingHeaders,
    headers?: OutgoingHeaders,
  ): this {
    // As given: Node's own writeHead tells the forms apart (and takes a message left undefined).
    super.writeHead(statusCode, message as string | undefined, headers);
    (this as { _header?: string | null })._header?.charCodeAt(0);
    return this;
  }

  /** Node's `_send`, which sends the head with the first bytes; the head is not kept after that. */
  _send(...args: unknown[]): boolean {
    const written = send.apply(this, args);
    forgetSentHead(this);
    return written;
  }
}
