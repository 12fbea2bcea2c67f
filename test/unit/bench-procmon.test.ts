// The bench's process monitor (test/bench/procmon.ts) on real processes: a child started inside the
// window is found by a per-second sample and counted from its start; one that was there before is
// counted from the window's start.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { ProcMonitor } from '../bench/procmon.js';

/** A node child that burns `ms` of CPU, says so on stdout, and then waits for its stdin to close. */
async function burner(ms: number): Promise<ChildProcess> {
  const c = spawn(process.execPath, ['-e', `const e = performance.now() + ${ms}; while (performance.now() < e); process.stdout.write('busy\\n'); process.stdin.resume(); process.stdin.on('end', () => process.exit(0));`]);
  await new Promise<void>((resolve) => c.stdout!.once('data', () => resolve()));
  return c;
}
const ended = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null ? r() : c.once('exit', () => r())));

t.test('a process started in the window: found by sample(), its CPU counted from its start', async (t) => {
  const mon = new ProcMonitor([{ pid: process.pid, classify: (p, isRoot) => (isRoot ? 'bench' : p.comm) }]);
  const before = await burner(50);
  t.teardown(() => void before.kill());
  await mon.begin();
  const c = await burner(300);
  t.equal(mon.sample(), undefined, 'a sample is synchronous');
  c.stdin!.end();
  before.stdin!.end();
  await Promise.all([ended(c), ended(before)]);
  const u = await mon.end();
  t.equal(u.procs.node, 2, 'both children seen');
  // the new child's 300 ms (at clock-tick resolution) and nearly nothing of the older one's 50 ms, spent before the window
  t.ok(u.cpuMs.node >= 250, `children CPU ${u.cpuMs.node} ms`);
  t.ok(u.peakRssMb.node > 10, `children peak RSS ${u.peakRssMb.node} MB`);
  t.ok(u.cpuMs.bench >= 0 && u.procs.bench === 1, 'the root itself');
});
