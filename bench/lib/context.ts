// What every scenario gets from bench/run.ts: the model server and how to script it.
import type { ModelScript } from "./model-server.js";

export interface BenchContext {
  modelUrl: string;
  /** Milliseconds to add to the model's clock to read this process's. */
  modelOffsetMs: number;
  setScript: (script: ModelScript) => Promise<void>;
  databaseUrl: string;
  quick: boolean;
  /** Chunks in a reply of the compare scenario (`--tokens`; 100 by default). */
  replyChunks: number;
}
