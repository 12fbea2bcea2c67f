// The engine worker's environment (D157): the supervisor's, plus glibc malloc thresholds that keep
// each frame's freed buffers in the heap; an operator's own values win. The spawned worker is read
// back from /proc, so the settings are checked where glibc reads them.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { EngineWorker } from '../../pipelines/engines/client.js';
import { WORKER_MALLOC_ENV, workerEnv } from '../../pipelines/engines/worker-env.js';

t.test('workerEnv adds the malloc thresholds and keeps everything else', async (t) => {
  const env = workerEnv({ PATH: '/usr/bin', FOO: 'bar' });
  t.equal(env.PATH, '/usr/bin');
  t.equal(env.FOO, 'bar');
  t.equal(env.MALLOC_MMAP_THRESHOLD_, String(4 * 1024 * 1024));
  t.equal(env.MALLOC_TRIM_THRESHOLD_, String(16 * 1024 * 1024));
  t.ok(Number(WORKER_MALLOC_ENV.MALLOC_TRIM_THRESHOLD_) > Number(WORKER_MALLOC_ENV.MALLOC_MMAP_THRESHOLD_), 'freed blocks below the mmap threshold fit under the trim threshold');
});

t.test("an operator's own value wins, and the base is not changed", async (t) => {
  const base = { MALLOC_TRIM_THRESHOLD_: '131072' };
  const env = workerEnv(base);
  t.equal(env.MALLOC_TRIM_THRESHOLD_, '131072');
  t.equal(env.MALLOC_MMAP_THRESHOLD_, String(4 * 1024 * 1024));
  t.same(base, { MALLOC_TRIM_THRESHOLD_: '131072' });
});

t.test('a spawned engine worker runs with them', async (t) => {
  const w = new EngineWorker({ helloTimeoutMs: 60000, env: { ...process.env, MOBILENET_EDGE_PROBE: '1' } });
  t.teardown(() => w.stop(500));
  await w.start();
  const environ = readFileSync(`/proc/${w.pid}/environ`, 'utf8').split('\0');
  t.ok(environ.includes('MOBILENET_EDGE_PROBE=1'), 'the environment asked for');
  for (const [k, v] of Object.entries(WORKER_MALLOC_ENV)) t.ok(environ.includes(`${k}=${v}`), `${k}=${v}`);
});
