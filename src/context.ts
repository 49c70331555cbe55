import type { RunManager } from "./agent/runs.js";
import type { Viewer } from "./auth.js";
import type { Config } from "./config.js";
import type { Db } from "./db/client.js";
import { UnauthenticatedError } from "./errors.js";
import type { AppPubSub } from "./pubsub.js";

/** What every resolver receives: the database, the caller, the runs, and the configuration. */
export interface Context {
  readonly prisma: Db;
  readonly viewer: Viewer | null;
  readonly config: Config;
  readonly pubsub: AppPubSub;
  readonly runs: RunManager;
  /** The HTTP request; its signal aborts when the client goes away. */
  readonly request: Request;
}

/** The caller's identity; throws `UNAUTHENTICATED` for anonymous requests. */
export function requireViewer(ctx: Context): Viewer {
  if (ctx.viewer === null) throw new UnauthenticatedError();
  return ctx.viewer;
}
