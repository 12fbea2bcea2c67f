// Decoders die with the supervisor (pipelines/sources/parent-death.ts, D160): the wrapper's command
// line, and for real: a Node process starts a long `sleep` through it and is SIGKILLed, and the sleep
// is gone; started without the wrapper, the same sleep outlives its parent (what the wrapper fixes).
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dieWithParent } from '../../pipelines/sources/parent-death.js';
import { ended, waitEnded } from '../helpers/proc.js';

// the module as this test loads it (TypeScript through the test runner's loader, passed on in execArgv)
const MODULE = new URL('../../pipelines/sources/parent-death.ts', import.meta.url).href;

/** A Node parent that starts `sleep 300` (through the wrapper or not), prints its pid, then idles. */
async function parentWithSleep(wrapped: boolean): Promise<{ parent: ReturnType<typeof spawn>; child: number }> {
  const code = `
    const { spawn } = await import('node:child_process');
    const { dieWithParent } = await import(${JSON.stringify(MODULE)});
    const run = ${wrapped} ? dieWithParent('sleep', ['300']) : { path: 'sleep', args: ['300'] };
    const p = spawn(run.path, run.args, { stdio: 'ignore' });
    process.stdout.write(String(p.pid) + '\\n');
    setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const child = await new Promise<number>((resolve, reject) => {
    parent.stdout!.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
    parent.once('exit', (c) => reject(new Error(`parent exited (${c}) before starting its child`)));
  });
  // setpriv sets the signal and then execs: once the pid runs `sleep`, the signal is set
  const until = Date.now() + 10000;
  while (readFileSync(`/proc/${child}/comm`, 'utf8').trim() !== 'sleep') {
    if (Date.now() > until) throw new Error(`pid ${child} never became sleep`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return { parent, child };
}

t.test('the command line: setpriv with SIGKILL as the parent-death signal, or the decoder itself', async (t) => {
  t.same(dieWithParent('/usr/bin/ffmpeg', ['-i', 'x'], () => true), { path: 'setpriv', args: ['--pdeathsig', 'KILL', '--', '/usr/bin/ffmpeg', '-i', 'x'] });
  t.same(dieWithParent('/usr/bin/ffmpeg', ['-i', 'x'], () => false), { path: '/usr/bin/ffmpeg', args: ['-i', 'x'] });
});

t.test('this Debian has it: util-linux setpriv knows --pdeathsig', async (t) => {
  t.equal(dieWithParent('ffmpeg', []).path, 'setpriv');
});

t.test('the parent SIGKILLed: a child started through the wrapper goes with it', async (t) => {
  const { parent, child } = await parentWithSleep(true);
  t.teardown(() => void (ended(child) || process.kill(child, 'SIGKILL')));
  parent.kill('SIGKILL');
  t.ok(await waitEnded(child, 10000), 'the sleep ended with its parent');
});

t.test('without the wrapper the same child outlives its parent (what D160 fixes)', async (t) => {
  const { parent, child } = await parentWithSleep(false);
  t.teardown(() => void (ended(child) || process.kill(child, 'SIGKILL')));
  parent.kill('SIGKILL');
  await new Promise((r) => parent.once('exit', r));
  t.notOk(await waitEnded(child, 1000), 'the sleep still runs a second after its parent died');
});
