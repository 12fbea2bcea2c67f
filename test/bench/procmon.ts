// CPU time and peak RSS of process trees, read from /proc. A role names each tree (supervisor and
// its ffmpeg and engine children, a broker, a peer loop). Sample at the start and the end of a
// window (and in between for RSS); CPU is the tick difference per pid. The window's scans read /proc
// asynchronously: the bench's MQTT subscriber shares this event loop and stamps each result's arrival,
// and a synchronous scan (≈ 1–4 ms for the machine's processes) held back the results arriving during
// it, in the latency tail the bench reports.
import { readFileSync } from 'node:fs';
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

async function hwmKb(pid: number): Promise<number> {
  try {
    return parseProcStatus(await readFile(`/proc/${pid}/status`, 'utf8')).hwmKb;
  } catch {
    return 0;
  }
}

export function rssKb(pid: number): number {
  try {
    return parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8')).rssKb;
  } catch {
    return 0;
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

  constructor(private readonly roots: { pid: number; classify: Classify }[]) {}

  private async scan(): Promise<void> {
    const all = await readAll();
    const byPid = new Map(all.map((p) => [p.pid, p]));
    for (const r of this.roots) {
      for (const pid of [r.pid, ...descendants(r.pid, all)]) {
        const p = byPid.get(pid);
        if (!p) continue;
        const role = r.classify(p, pid === r.pid);
        this.last.set(pid, { ticks: p.ticks, minflt: p.minflt, role });
        if (!this.start.has(pid)) this.start.set(pid, this.started ? { ticks: 0, minflt: 0 } : { ticks: p.ticks, minflt: p.minflt });
        if (!this.seen.has(role)) this.seen.set(role, new Set());
        this.seen.get(role)!.add(pid);
        this.peak.set(role, Math.max(this.peak.get(role) ?? 0, await hwmKb(pid)));
      }
    }
  }

  private started = false;

  async begin(): Promise<void> {
    await this.scan();
    this.started = true;
  }

  /** Call every second or so: catches new processes and RSS peaks. */
  async sample(): Promise<void> {
    await this.scan();
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
