// The engine worker's environment (D157): the supervisor's, plus glibc malloc thresholds that keep
// each frame's freed buffers in the heap; an operator's own values win. The spawned worker is read
// back from /proc, so the settings are checked where glibc reads them. And V8's young generation
// (D161): workers start with NODE_HEAP_FLAGS, and every way the package starts the supervisor passes
// the same flags; this Node takes them (a 16 MB new space instead of 1 MB).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { EngineWorker } from '../../pipelines/engines/client.js';
import { NODE_HEAP_FLAGS, WORKER_MALLOC_ENV, workerEnv } from '../../pipelines/engines/worker-env.js';

const ROOT = new URL('../../', import.meta.url).pathname;

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
  const argv = readFileSync(`/proc/${w.pid}/cmdline`, 'utf8').split('\0');
  for (const f of NODE_HEAP_FLAGS) t.ok(argv.includes(f), `the worker's command line has ${f}`);
});

t.test('this Node takes the heap flags: a new space of 16 MB, 1 MB without them', async (t) => {
  const newSpace = (flags: readonly string[]) => {
    const r = spawnSync(process.execPath, [...flags, '-e', "console.log(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size)"], { encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    return Number(r.stdout.trim());
  };
  t.same(NODE_HEAP_FLAGS, ['--min-semi-space-size=16']);
  t.equal(newSpace(NODE_HEAP_FLAGS), 16 << 20);
  t.ok(newSpace([]) < 16 << 20, 'smaller by default');
});

t.test('every way the package starts the supervisor passes the same flags', async (t) => {
  const flags = NODE_HEAP_FLAGS.join(' ');
  const unit = readFileSync(`${ROOT}systemd/mobilenet-edge.service`, 'utf8');
  t.match(unit, new RegExp(`^ExecStart=/usr/bin/node ${flags} /opt/mobilenet-edge/dist/daemon/main.js `, 'm'), 'the systemd unit');
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
  t.equal(pkg.scripts.start, `node ${flags} dist/daemon/main.js`, 'npm start');
  // npx mobilenet-edge runs the file itself: its first line (env -S: coreutils 8.30+, every distribution Node 20 runs on)
  t.equal(readFileSync(`${ROOT}daemon/main.ts`, 'utf8').split('\n')[0], `#!/usr/bin/env -S node ${flags}`, 'the bin (daemon/main.ts)');
  t.equal(pkg.bin['mobilenet-edge'], 'dist/daemon/main.js');
});
