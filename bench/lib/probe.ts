// Preloaded (`--import`) into every server the benchmark measures: answers the parent's IPC questions
// about this process's CPU time and memory, so all systems are measured the same way, from inside.
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { now } from "./clock.js";

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
let utilization = performance.eventLoopUtilization();

process.on("message", (message: { type: string; gc?: boolean }) => {
  if (message.type === "stats") {
    // For memory, a full collection first, so `heapUsed` is what is alive, not garbage not yet collected.
    if (message.gc) (globalThis as { gc?: () => void }).gc?.();
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    const elu = performance.eventLoopUtilization(utilization);
    utilization = performance.eventLoopUtilization();
    process.send?.({
      type: "stats",
      /** Since the previous reading: how busy the event loop was (0..1) and how late it ran, ms. */
      loopBusy: elu.utilization,
      loopDelayP99: delay.percentile(99) / 1e6,
      loopDelayMax: delay.max / 1e6,
      cpuMs: (cpu.user + cpu.system) / 1000,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      external: memory.external,
    });
    delay.reset();
  } else if (message.type === "clock") {
    process.send?.({ type: "clock", now: now() });
  }
});
// The IPC channel must not keep a server alive that was told to stop.
process.channel?.unref();
