/* Small process utilities shared by the helpers in this folder. */
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dieWithParent } from '../../pipelines/sources/parent-death.js';

/** Keeps the last `max` characters written to it (a child's stderr, for error messages). */
export class Tail {
  private text = '';
  constructor(private readonly max = 16_000) {}
  push(chunk: Buffer | string): void {
    this.text += chunk.toString();
    if (this.text.length > this.max) this.text = this.text.slice(-this.max);
  }
  toString(): string {
    return this.text;
  }
}

/** Children that are still running; killed with SIGKILL if the test process exits without stopping them. */
const live = new Set<ChildProcess>();
let hooked = false;

export function track(proc: ChildProcess): void {
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const p of live) {
        try {
          p.kill('SIGKILL');
        } catch {
          /* already gone */
        }
      }
    });
  }
}

export function hasExited(proc: ChildProcess): boolean {
  return proc.exitCode !== null || proc.signalCode !== null;
}

/** Resolves when `proc` exits, or with false after `ms`. */
export function waitExit(proc: ChildProcess, ms: number): Promise<boolean> {
  if (hasExited(proc)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      proc.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    proc.once('exit', onExit);
  });
}

/**
 * SIGCONT (a stopped process handles SIGTERM only once it runs again), SIGTERM, and SIGKILL if it
 * is still there after `graceMs`. Resolves once the process has exited.
 */
export async function terminate(proc: ChildProcess, graceMs = 3000): Promise<void> {
  if (hasExited(proc)) return;
  try {
    proc.kill('SIGCONT');
    proc.kill('SIGTERM');
  } catch {
    /* already gone */
  }
  if (await waitExit(proc, graceMs)) return;
  try {
    proc.kill('SIGKILL');
  } catch {
    /* already gone */
  }
  await waitExit(proc, 5000);
}

/** State letter from /proc/<pid>/stat: 'R' running, 'S' sleeping, 'T' stopped, 'Z' zombie; undefined if gone. */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0];
  } catch {
    return undefined;
  }
}

/** Signal delivery is asynchronous: wait (up to `ms`) until the process is / is no longer stopped. */
export async function waitStopped(pid: number, stopped: boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = procState(pid);
    if (s === undefined || (s === 'T') === stopped) return;
    if (Date.now() > deadline) throw new Error(`process ${pid} is in state ${s} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * spawn() with stdin ignored and stdout/stderr piped, tied to this process: through util-linux
 * setpriv --pdeathsig (the daemon's own dieWithParent, D160), the child gets SIGKILL when the test
 * process dies, even by SIGKILL or a tap timeout, so no server outlives its test. (setpriv execs the
 * command: the pid is the command's.) Also registered with track().
 */
export function spawnTied(cmd: string, args: string[]): ChildProcessWithoutNullStreams {
  const run = dieWithParent(cmd, args);
  const proc = spawn(run.path, run.args, { stdio: ['ignore', 'pipe', 'pipe'] }) as unknown as ChildProcessWithoutNullStreams;
  track(proc);
  return proc;
}

/** A process that has exited: gone, or a zombie nobody has reaped yet. */
export function ended(pid: number): boolean {
  const s = procState(pid);
  return s === undefined || s === 'Z';
}

/** Whether `pid` ended within `ms` (polled every 50 ms). */
export async function waitEnded(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!ended(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return ended(pid);
}

/** Pids of live processes named `comm` whose command line contains `text`. */
export function findProcs(comm: string, text: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text) && !ended(pid);
      } catch {
        return false;
      }
    });
}
