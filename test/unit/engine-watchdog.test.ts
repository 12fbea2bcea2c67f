// Engine heartbeat and error storm, on the real onnxruntime worker: a worker that stops answering
// while idle (SIGSTOP) is caught by the heartbeat; a worker that keeps answering with errors is
// restarted once the errors form a storm. Either way the model is reloaded and inference resumes.
import t from 'tap';
import { join } from 'node:path';
import { EngineSupervisor } from '../../pipelines/engines/supervisor.js';
import { createLogger } from '../../daemon/log.js';

const tiny = join(import.meta.dirname, '..', 'fixtures', 'tiny', 'model.json');
const red = Buffer.from(Array.from({ length: 64 }, () => [255, 0, 0]).flat());
const log = createLogger('error', () => undefined);
const nextReady = (e: EngineSupervisor) => new Promise<void>((r) => e.once('ready', () => r()));
const base = { manifestPath: tiny, executionProviders: ['cpu'], threads: 1, inferTimeoutMs: 2000, restartMinMs: 100, restartMaxMs: 1000 };

t.test('missed heartbeat: an idle hung worker is killed and replaced', async (t) => {
  const e = new EngineSupervisor({ ...base, heartbeatMs: 200, heartbeatTimeoutMs: 300 }, log);
  t.teardown(() => e.stop());
  await e.start();
  const pid = e.pid!;
  const back = nextReady(e);
  process.kill(pid, 'SIGSTOP');
  await back; // no inference was asked for: only the heartbeat can notice
  t.not(e.pid, pid, 'a new worker');
  t.equal(e.restarts, 1);
  t.match(e.lastError, /missed heartbeat|SIGKILL/);
  t.ok((await e.infer(red, 8, 8)).outputs.has('logits'), 'inference works again');
});

t.test('a healthy idle worker keeps answering the heartbeat', async (t) => {
  const e = new EngineSupervisor({ ...base, heartbeatMs: 100, heartbeatTimeoutMs: 1000 }, log);
  t.teardown(() => e.stop());
  await e.start();
  const pid = e.pid;
  await new Promise((r) => setTimeout(r, 1000));
  t.equal(e.pid, pid, 'same worker after ~10 heartbeats');
  t.equal(e.restarts, 0);
});

t.test('error storm: repeated engine errors restart the worker', async (t) => {
  const e = new EngineSupervisor({ ...base, errorStormCount: 3, errorStormWindowMs: 10_000 }, log);
  t.teardown(() => e.stop());
  await e.start();
  const pid = e.pid!;
  const back = nextReady(e);
  // A frame of the wrong size: the worker answers with an error (it does not crash).
  await t.rejects(e.infer(red, 4, 4), { code: 'BAD_REQUEST' });
  await t.rejects(e.infer(red, 4, 4), { code: 'BAD_REQUEST' });
  t.equal(e.pid, pid, 'two errors: still the same worker');
  await t.rejects(e.infer(red, 4, 4), { code: 'BAD_REQUEST' });
  await back;
  t.not(e.pid, pid, 'the third error in the window restarted it');
  t.equal(e.errors, 3);
  t.match(e.lastError, /error storm/);
  t.ok((await e.infer(red, 8, 8)).outputs.has('logits'));
});
