// Decoders die with the supervisor (D160). A decoder whose supervisor is killed outright (SIGKILL, the
// OOM killer, a native crash) is left to init. One that was already writing frames dies at its next
// write (SIGPIPE: the FIFO lost its reader), but one still opening its camera, or opening the FIFO
// for writing, waits for a reader that never comes: found after the test suite as ffmpeg processes
// blocked in the FIFO's open for half an hour, their supervisors long gone. Under systemd the unit's
// control group is killed with the service; anywhere else nothing would stop them.
// Linux's parent-death signal ends that: util-linux's `setpriv --pdeathsig KILL -- <decoder> ...` sets
// it and then execs the decoder (same pid, same stderr and exit status), so the kernel sends SIGKILL
// when the process that started it exits, however it exits. Where setpriv is missing or too old to
// know --pdeathsig (checked once per process), the decoder is started as before.
import { spawnSync } from 'node:child_process';

let usable: boolean | undefined;

/** Does `setpriv --pdeathsig` work here? Runs it once on `true`. */
function probe(): boolean {
  if (process.platform !== 'linux') return false;
  const r = spawnSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore', timeout: 5000 });
  return !r.error && r.status === 0;
}

/**
 * The command that runs `path args` with SIGKILL as its parent-death signal, or `path args` itself
 * where that cannot be set. `check` replaces the probe (tests).
 */
export function dieWithParent(path: string, args: string[], check: () => boolean = () => (usable ??= probe())): { path: string; args: string[] } {
  return check() ? { path: 'setpriv', args: ['--pdeathsig', 'KILL', '--', path, ...args] } : { path, args };
}
