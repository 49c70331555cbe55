// Preloaded (`--import`) into every server the benchmark measures: answers the parent's IPC questions
// about this process's CPU time and memory, so all systems are measured the same way, from inside.
import { now } from "./clock.js";

process.on("message", (message: { type: string; gc?: boolean }) => {
  if (message.type === "stats") {
    // For memory, a full collection first, so `heapUsed` is what is alive, not garbage not yet collected.
    if (message.gc) (globalThis as { gc?: () => void }).gc?.();
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    process.send?.({
      type: "stats",
      cpuMs: (cpu.user + cpu.system) / 1000,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      external: memory.external,
    });
  } else if (message.type === "clock") {
    process.send?.({ type: "clock", now: now() });
  }
});
// The IPC channel must not keep a server alive that was told to stop.
process.channel?.unref();
