// The supervisor keeps an engine worker alive: crash (SIGKILL) and hang (SIGSTOP → inference timeout)
// are both followed by a new worker with the model reloaded. Real worker, real onnxruntime.
import t from 'tap';
import { join } from 'node:path';
import { EngineSupervisor } from '../../pipelines/engines/supervisor.js';
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

t.test('engine.workers auto: one per core up to 4 on the CPU, one for the Edge TPU and GPU providers', async (t) => {
  const { engineWorkers } = await import('../../pipelines/engines/pool.js');
  const cpu = { workers: 0, backend: 'onnxruntime', executionProviders: ['cpu'] };
  t.same([1, 2, 8].map((cores) => engineWorkers(cpu, cores)), [1, 2, 4]);
  t.equal(engineWorkers({ ...cpu, executionProviders: [{ name: 'tensorrt' }, 'cuda', 'cpu'] }, 8), 1);
  t.equal(engineWorkers({ ...cpu, executionProviders: ['cuda', 'cpu'] }, 8), 1);
  t.equal(engineWorkers({ ...cpu, backend: 'edgetpu', executionProviders: ['edgetpu'] }, 8), 1);
  t.equal(engineWorkers({ ...cpu, workers: 3 }, 2), 3, 'a number is taken as given');
});

t.test('engine.batch.maxFrames auto: 4 on the CPU, off for the Edge TPU and GPU providers (D148)', async (t) => {
  const { engineBatchFrames } = await import('../../pipelines/engines/pool.js');
  const cpu = { backend: 'onnxruntime', executionProviders: ['cpu'], batch: { maxFrames: 0 } };
  t.equal(engineBatchFrames(cpu), 4);
  t.equal(engineBatchFrames({ ...cpu, executionProviders: [{ name: 'tensorrt' }, 'cuda', 'cpu'] }), 1);
  t.equal(engineBatchFrames({ ...cpu, executionProviders: ['cuda', 'cpu'] }), 1);
  t.equal(engineBatchFrames({ ...cpu, backend: 'edgetpu', executionProviders: ['edgetpu'] }), 1);
  t.equal(engineBatchFrames({ ...cpu, batch: { maxFrames: 1 } }), 1, 'a number is taken as given (1: off)');
  t.equal(engineBatchFrames({ ...cpu, executionProviders: ['tensorrt'], batch: { maxFrames: 8 } }), 8);
});

t.test('a pool of two workers: requests spread over both, one crash leaves the other serving', async (t) => {
  const { EnginePool } = await import('../../pipelines/engines/pool.js');
  const member = () => new EngineSupervisor({ manifestPath: tiny, executionProviders: ['cpu'], threads: 1, inferTimeoutMs: 5000, restartMinMs: 100, restartMaxMs: 1000 }, log);
  const pool = new EnginePool([member(), member()]);
  t.teardown(() => pool.stop());
  await pool.start();
  t.equal(pool.size, 2);
  t.equal(pool.state, 'ready');
  const pids = pool.pids;
  t.equal(new Set(pids).size, 2, 'two processes');
  // two requests at once land on different workers (the one with fewer in flight is picked)
  const both = [pool.infer(red, 8, 8), pool.infer(red, 8, 8)];
  t.same(pool.members.map((m) => m.inFlight), [1, 1], 'one request on each worker');
  t.equal((await Promise.all(both)).length, 2);
  const downs: string[] = [];
  pool.on('down', (r: string) => downs.push(r));
  process.kill(pids[0]!, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  t.equal(downs.length, 1, 'the crash is reported once');
  t.ok(pool.ready, 'still serving on the other worker');
  t.not(pool.state, 'ready', 'but not all workers are');
  const out = await pool.infer(red, 8, 8);
  t.ok(out.outputs.get('logits'), 'a request is answered meanwhile');
  const t0 = Date.now();
  while (pool.state !== 'ready' && Date.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 100));
  t.equal(pool.state, 'ready', 'the crashed worker is back');
  t.equal(pool.restarts, 1);
});
