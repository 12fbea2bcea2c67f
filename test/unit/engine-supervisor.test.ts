// The supervisor keeps an engine worker alive: crash (SIGKILL) and hang (SIGSTOP → inference timeout)
// are both followed by a new worker with the model reloaded. Real worker, real onnxruntime.
import t from 'tap';
import { join } from 'node:path';
import { EngineSupervisor } from '../../daemon/engine-supervisor.js';
import { createLogger } from '../../daemon/log.js';

const tiny = join(import.meta.dirname, '..', 'fixtures', 'tiny', 'model.json');
const red = Buffer.from(Array.from({ length: 64 }, () => [255, 0, 0]).flat());
const lines: string[] = [];
const log = createLogger('debug', (l) => lines.push(l));
const nextReady = (e: EngineSupervisor) => new Promise<void>((r) => e.once('ready', () => r()));

function supervisor(t: import('tap').Test, inferTimeoutMs = 2000) {
  const e = new EngineSupervisor({ manifestPath: tiny, executionProviders: ['cpu'], threads: 1, inferTimeoutMs, restartMinMs: 100, restartMaxMs: 1000 }, log);
  t.teardown(() => e.stop());
  return e;
}

t.test('a crashed worker is replaced and the model reloaded', async (t) => {
  const e = supervisor(t);
  const loaded = await e.start();
  t.equal(loaded.provider, 'cpu');
  const pid = e.pid!;
  const back = nextReady(e);
  process.kill(pid, 'SIGKILL');
  await back;
  t.not(e.pid, pid, 'a new worker process');
  t.equal(e.restarts, 1);
  t.match(e.lastError, /SIGKILL/);
  const out = await e.infer(red, 8, 8);
  t.ok(out.outputs.get('logits')!.data[0] > 0, 'inference works after the restart');
});

t.test('a hung worker (SIGSTOP) is killed after the inference timeout and replaced', async (t) => {
  const e = supervisor(t, 500);
  await e.start();
  const pid = e.pid!;
  process.kill(pid, 'SIGSTOP');
  const back = nextReady(e);
  await t.rejects(e.infer(red, 8, 8), { code: 'TIMEOUT' });
  await back;
  t.not(e.pid, pid);
  t.match(e.lastError, /longer than 500 ms|SIGKILL/);
  t.ok((await e.infer(red, 8, 8)).outputs.has('logits'));
});

t.test('a model that cannot load fails the first start with the reason', async (t) => {
  const e = new EngineSupervisor({ manifestPath: '/nonexistent/model.json', executionProviders: ['cpu'], threads: 1, inferTimeoutMs: 1000, restartMinMs: 100, restartMaxMs: 1000 }, log);
  await t.rejects(e.start(), /cannot read the manifest/);
  t.equal(e.pid, undefined, 'no worker left behind');
  await e.stop();
});
