import type { RunManager } from "../agent/runs/run-manager.js";
import type { ViewerEvents } from "../agent/runs/viewer-events.js";
import type { Viewer } from "../auth/tokens.js";
import type { Config } from "../core/config.js";
import { UnauthenticatedError } from "../core/errors.js";
import type { BlobStore } from "../db/blobs.js";
import type { Db } from "../db/client.js";
import type { AttachmentUrls } from "../http/attachment-urls.js";
import type { StartLane } from "../http/start-lane.js";
import type { Gate } from "../limits/gate.js";
import type { RateLimiter } from "../limits/rate-limiter.js";
import type { OpenStreams } from "../limits/streams.js";
import type { Logger } from "../observability/logger.js";
import type { ExportLinks } from "./exchange/export.js";

/** What every resolver receives: the database, the caller, the runs, and the configuration. */
export interface Context {
  readonly prisma: Db;
  readonly viewer: Viewer | null;
  readonly config: Config;
  readonly runs: RunManager;
  /** Tells every tab of a user what changed (`viewerEvents`), on every instance. */
  readonly events: ViewerEvents;
  /** The HTTP request; its signal aborts when the client goes away. */
  readonly request: Request;
  /** The process's logger: lines written for the request carry {@link logFields}. */
  readonly logger: Logger;
  /**
   * What every line written for the request (and for a reply it starts) carries: its id, and the user's.
   * Fields rather than a child logger, which every open stream would hold (0.4 KB, by heap snapshots).
   */
  readonly logFields: LogFields;
  /** Rates and quotas, checked before anything is written. */
  readonly limits: RateLimiter;
  /** The subscription streams open on this instance, with their per-user cap and time limits. */
  readonly streams: OpenStreams;
  /** Bounds how many sends save their exchange at once (see Gate). */
  readonly sends: Gate;
  /** Gives a started operation's next step its turn of the event loop, after the streams' events. */
  readonly lane: Pick<StartLane, "turn">;
  /** Signs the download links of exports. */
  readonly exportLinks: ExportLinks;
  /** Where users' browsers reach this server (PUBLIC_URL, else where it listens): share links start with it. */
  readonly publicUrl: () => string;
  /** Where attachments' bytes are written and read. */
  readonly blobs: BlobStore;
  /** Signs attachments' download links. */
  readonly attachmentUrls: AttachmentUrls;
}

/** The fields of a request's log lines. */
export interface LogFields {
  readonly requestId: string;
  readonly userId?: string;
}

/** The caller's identity; throws `UNAUTHENTICATED` for anonymous requests. */
export function requireViewer(ctx: Context): Viewer {
  if (ctx.viewer === null) throw new UnauthenticatedError();
  return ctx.viewer;
}
