// CPU time and peak RSS of process trees, read from /proc. A role names each tree (supervisor and
// its ffmpeg and engine children, a broker, a peer loop). Sample at the start and the end of a
// window (and every second in between, for processes that start or end in it and for RSS); CPU is the
// tick difference per pid. The bench's MQTT subscriber shares this event loop and stamps each
// result's arrival, and the processes it measures share the machine's two CPUs, so what runs during
// the window is kept small (D171): the start and end scans read every process's /proc stat
// asynchronously (the event loop keeps serving between reads), and the per-second samples read only
// the processes that are new since the last look and the trees' own files, synchronously (a few
// dozen small reads at 16 cameras), not all of /proc through the thread pool again (≈ 13 ms of CPU
// each here).
import { readFileSync, readdirSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { descendants, parseProcStat, parseProcStatus, type ProcStat } from './stats.js';

const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim() || 100);

/** Every process's /proc/PID/stat, one file at a time: the event loop keeps serving between reads. */
export async function readAll(): Promise<ProcStat[]> {
  const out: ProcStat[] = [];
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      out.push(parseProcStat(await readFile(`/proc/${d}/stat`, 'utf8')));
    } catch {
      /* gone */
    }
  }
  return out;
}

export function rssKb(pid: number): number {
  return statusNow(pid).rssKb;
}

function statusNow(pid: number): { rssKb: number; hwmKb: number } {
  try {
    return parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return { rssKb: 0, hwmKb: 0 };
  }
}

function statNow(pid: number): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** Role of a process in a tree: the root's name, or its command name for a child (ffmpeg, node → engine). */
export type Classify = (p: ProcStat, isRoot: boolean) => string;

export interface Usage {
  /** role → CPU ms in the window. */
  cpuMs: Record<string, number>;
  /** role → the largest peak RSS (VmHWM) of one process of that role, MB. */
  peakRssMb: Record<string, number>;
  /** role → number of processes seen. */
  procs: Record<string, number>;
  /** role → minor page faults in the window (memory the kernel had to map in again: D157). */
  minorFaults: Record<string, number>;
}

export class ProcMonitor {
  private start = new Map<number, { ticks: number; minflt: number }>();
  private last = new Map<number, { ticks: number; minflt: number; role: string }>();
  private peak = new Map<string, number>();
  private seen = new Map<string, Set<number>>();
  /** pid → parent of every process seen so far, ours or not: a sample reads only the new ones. */
  private parents = new Map<number, number>();

  constructor(private readonly roots: { pid: number; classify: Classify }[]) {}

  /** Each root and its descendants in the parent table. */
  private trees(): { pid: number; classify: Classify; isRoot: boolean }[] {
    const table = [...this.parents].map(([pid, ppid]) => ({ pid, ppid }));
    return this.roots.flatMap((r) => [r.pid, ...descendants(r.pid, table)].map((pid) => ({ pid, classify: r.classify, isRoot: pid === r.pid })));
  }

  /** A tree process's counters now, and its role's peak RSS (VmHWM, read here). */
  private record(p: ProcStat, role: string): void {
    this.last.set(p.pid, { ticks: p.ticks, minflt: p.minflt, role });
    if (!this.start.has(p.pid)) this.start.set(p.pid, this.started ? { ticks: 0, minflt: 0 } : { ticks: p.ticks, minflt: p.minflt });
    if (!this.seen.has(role)) this.seen.set(role, new Set());
    this.seen.get(role)!.add(p.pid);
    this.peak.set(role, Math.max(this.peak.get(role) ?? 0, statusNow(p.pid).hwmKb));
  }

  /** Every process's stat, asynchronously: the window's first and last look. */
  private async scan(): Promise<void> {
    const all = await readAll();
    this.parents = new Map(all.map((p) => [p.pid, p.ppid]));
    const byPid = new Map(all.map((p) => [p.pid, p]));
    for (const t of this.trees()) {
      const p = byPid.get(t.pid);
      if (p) this.record(p, t.classify(p, t.isRoot));
    }
  }

  private started = false;

  async begin(): Promise<void> {
    await this.scan();
    this.started = true;
  }

  /**
   * Call every second or so: catches new processes (their CPU from their start) and RSS peaks. Reads
   * /proc's list, the stat of the processes not seen before, and the trees' stat and status files.
   */
  sample(): void {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d) || this.parents.has(Number(d))) continue;
      const p = statNow(Number(d));
      if (p) this.parents.set(p.pid, p.ppid);
    }
    for (const t of this.trees()) {
      const p = statNow(t.pid);
      // gone: forget it, so that a new process given its pid is looked at afresh
      if (!p) this.parents.delete(t.pid);
      else this.record(p, t.classify(p, t.isRoot));
    }
  }

  async end(): Promise<Usage> {
    await this.scan();
    const cpuMs: Record<string, number> = {};
    const minorFaults: Record<string, number> = {};
    for (const [pid, { ticks, minflt, role }] of this.last) {
      const s = this.start.get(pid) ?? { ticks, minflt };
      cpuMs[role] = (cpuMs[role] ?? 0) + (ticks - s.ticks) * TICK_MS;
      minorFaults[role] = (minorFaults[role] ?? 0) + (minflt - s.minflt);
    }
    const peakRssMb: Record<string, number> = {};
    for (const [role, kb] of this.peak) peakRssMb[role] = Math.round(kb / 102.4) / 10;
    const procs: Record<string, number> = {};
    for (const [role, s] of this.seen) procs[role] = s.size;
    return { cpuMs, peakRssMb, procs, minorFaults };
  }
}
