// Pure helpers of the benchmark: percentiles, /proc parsing, fairness, drop rate, capacity, growth.
// No I/O here (unit tested in test/unit/bench-stats.test.ts).

/** Nearest-rank percentile (p in 0..100) of unsorted numbers; NaN for none. */
export function percentile(xs: readonly number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime in clock ticks. */
  ticks: number;
  /** Minor page faults (field 10; pages the kernel had to map in, none read from disk). */
  minflt: number;
}

/** Parse /proc/PID/stat (the comm may hold spaces and parentheses: split at the last ')'). */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${text.slice(0, 60)}`);
  const pid = Number(text.slice(0, open).trim());
  const comm = text.slice(open + 1, close);
  const f = text.slice(close + 2).trim().split(/\s+/); // f[0] = state (field 3)
  const at = (field: number) => Number(f[field - 3]);
  const ticks = at(14) + at(15);
  if (!Number.isFinite(pid) || !Number.isFinite(ticks)) throw new Error(`bad /proc stat line: ${text.slice(0, 60)}`);
  return { pid, comm, ppid: at(4), ticks, minflt: at(10) };
}

/** VmRSS and VmHWM (peak RSS) in kB from /proc/PID/status; 0 when absent (kernel threads, zombies). */
export function parseProcStatus(text: string): { rssKb: number; hwmKb: number } {
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)\\s+kB`, 'm').exec(text)?.[1] ?? 0);
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

/** Every descendant of `root` (not root itself) in a pid → ppid table. */
export function descendants(root: number, stats: readonly Pick<ProcStat, 'pid' | 'ppid'>[]): number[] {
  const kids = new Map<number, number[]>();
  for (const s of stats) kids.set(s.ppid, [...(kids.get(s.ppid) ?? []), s.pid]);
  const out: number[] = [];
  const todo = [...(kids.get(root) ?? [])];
  while (todo.length) {
    const p = todo.shift()!;
    out.push(p);
    todo.push(...(kids.get(p) ?? []));
  }
  return out;
}

/** Per-camera fairness: min and max camera rate and their ratio (1 = perfectly fair). */
export function fairness(perCamera: readonly number[]): { min: number; max: number; ratio: number } {
  if (!perCamera.length) return { min: 0, max: 0, ratio: 0 };
  const min = Math.min(...perCamera), max = Math.max(...perCamera);
  return { min, max, ratio: max > 0 ? min / max : 0 };
}

/** Share of the frames the cameras sent that got no result (0..1); sent = cameras * fps * seconds. */
export function dropRate(results: number, cameras: number, fps: number, seconds: number): number {
  const sent = cameras * fps * seconds;
  if (!(sent > 0)) return 0;
  return Math.max(0, Math.min(1, 1 - results / sent));
}

/**
 * Capacity: the largest camera count sustained (drop rate < maxDrop) such that every smaller count
 * measured was sustained too. 0 when even the smallest fails.
 */
export function capacity(runs: readonly { cameras: number; dropRate: number }[], maxDrop = 0.02): number {
  let best = 0;
  for (const r of [...runs].sort((a, b) => a.cameras - b.cameras)) {
    if (r.dropRate < maxDrop) best = r.cameras;
    else break;
  }
  return best;
}

/** Least-squares slope of y over x (units of y per unit of x); 0 for fewer than 2 points. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return 0;
  const mx = xs.slice(0, n).reduce((a, b) => a + b, 0) / n;
  const my = ys.slice(0, n).reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den > 0 ? num / den : 0;
}

/** Parse `uptime` / /proc/loadavg text into the three load averages. */
export function parseLoadavg(text: string): [number, number, number] {
  const m = /(\d+[.,]\d+),?\s+(\d+[.,]\d+),?\s+(\d+[.,]\d+)/.exec(text);
  if (!m) throw new Error(`no load averages in ${JSON.stringify(text)}`);
  const n = (s: string) => Number(s.replace(',', '.'));
  return [n(m[1]), n(m[2]), n(m[3])];
}
