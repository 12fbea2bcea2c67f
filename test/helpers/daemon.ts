// Run the built daemon (dist/daemon/main.js) as a user does, for integration tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';

export const ROOT = join(import.meta.dirname, '..', '..');
export const DEMO_CLIP_URL = `file://${join(ROOT, 'models/demo/demo.mp4')}`;

/** Write a config file into the test's folder (0600: a file with secrets must not be group/world readable). */
export function writeConfig(t: Test, config: object, name = 'config.json'): string {
  const file = join(t.testdir({}), name);
  writeFileSync(file, JSON.stringify(config));
  chmodSync(file, 0o600);
  return file;
}

export interface RunningDaemon {
  proc: ChildProcess;
  /** stdout and stderr so far (last 200 kB). */
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  exited(): Promise<number | null>;
}

/** Start the daemon on a config; it is SIGKILLed at the test's end if still running. */
export function startDaemon(t: Test, configFile: string, env: NodeJS.ProcessEnv = {}): RunningDaemon {
  const proc = spawn(process.execPath, [join(ROOT, 'dist/daemon/main.js'), '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  proc.stdout!.on('data', (d) => (out = (out + d).slice(-200000)));
  proc.stderr!.on('data', (d) => (out = (out + d).slice(-200000)));
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  const exit = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  return { proc, output: () => out, exited: () => exit };
}

/** Wait until the daemon's output matches (e.g. its HTTP server is up). */
export async function waitForOutput(d: RunningDaemon, re: RegExp, timeoutMs = 30000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!re.test(d.output())) {
    if (Date.now() > end) throw new Error(`daemon output never matched ${re}:\n${d.output().slice(-3000)}`);
    if (d.proc.exitCode !== null) throw new Error(`daemon exited with ${d.proc.exitCode}:\n${d.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
