// Small statistics and /proc readings for the benchmark's reports.
import { readdirSync, readFileSync } from "node:fs";

/** The q-quantile (0..1) of the values, by linear interpolation. */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return (sorted[low] ?? 0) + ((sorted[high] ?? 0) - (sorted[low] ?? 0)) * (at - low);
}

export function median(values: ArrayLike<number>): number {
  return quantile(values, 0.5);
}

const TICKS_PER_SECOND = 100;

/**
 * CPU time (ms) used so far by each PostgreSQL server process on this machine, by pid; with `database`,
 * only the backends connected to that database (their process title names it:
 * `postgres: 15/main: postgres bench_seed 127.0.0.1(41234) idle`).
 */
export function postgresCpu(database?: string): Map<string, number> {
  const used = new Map<string, number>();
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "postgres") continue;
      if (database !== undefined) {
        const title = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
        if (!title.includes(` ${database} `)) continue;
      }
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      used.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND);
    } catch {
      // the process ended meanwhile
    }
  }
  return used;
}

/** PostgreSQL CPU time (ms) between two readings (processes that ended in between are left out). */
export function postgresCpuSince(before: Map<string, number>, database?: string): number {
  let total = 0;
  for (const [pid, ms] of postgresCpu(database)) total += ms - (before.get(pid) ?? 0);
  return total;
}

/**
 * The CPU time of one database's PostgreSQL backends over a load: read at the start, every 500 ms (so a
 * backend that closes during the load is counted up to its last reading) and at the end. Backends that
 * start during the load count from zero. Other databases' backends (other work on the machine) and the
 * server-wide processes (WAL writer, checkpointer) are left out.
 */
export class PostgresCpuSampler {
  private readonly first: Map<string, number>;
  private readonly last: Map<string, number>;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly database: string) {
    this.first = postgresCpu(database);
    this.last = new Map(this.first);
    this.timer = setInterval(() => this.read(), 500);
  }

  private read(): void {
    for (const [pid, ms] of postgresCpu(this.database)) this.last.set(pid, ms);
  }

  /** Stops sampling; the backends' CPU time (ms) since the start. */
  stop(): number {
    clearInterval(this.timer);
    this.read();
    let total = 0;
    for (const [pid, ms] of this.last) total += ms - (this.first.get(pid) ?? 0);
    return total;
  }
}
