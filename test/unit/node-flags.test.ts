// The supervisor's Node flags (D161): this Node takes them (a 16 MB new space instead of 1 MB), and
// every way the package starts the supervisor passes the same list: the systemd unit, npm start and
// the bin's first line. Engine workers start without them.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { SUPERVISOR_NODE_FLAGS } from '../../daemon/node-flags.js';
import { defaultWorkerCommand } from '../../pipelines/engines/client.js';

const ROOT = new URL('../../', import.meta.url).pathname;

t.test('this Node takes the flags: a new space of 16 MB, 1 MB without them', async (t) => {
  const newSpace = (flags: readonly string[]) => {
    const r = spawnSync(process.execPath, [...flags, '-e', "console.log(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size)"], { encoding: 'utf8' });
    t.equal(r.status, 0, r.stderr);
    return Number(r.stdout.trim());
  };
  t.same(SUPERVISOR_NODE_FLAGS, ['--min-semi-space-size=16']);
  t.equal(newSpace(SUPERVISOR_NODE_FLAGS), 16 << 20);
  t.ok(newSpace([]) < 16 << 20, 'smaller by default');
});

t.test('every way the package starts the supervisor passes them', async (t) => {
  const flags = SUPERVISOR_NODE_FLAGS.join(' ');
  const unit = readFileSync(`${ROOT}systemd/mobilenet-edge.service`, 'utf8');
  t.match(unit, new RegExp(`^ExecStart=/usr/bin/node ${flags} /opt/mobilenet-edge/dist/daemon/main.js `, 'm'), 'the systemd unit');
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
  t.equal(pkg.scripts.start, `node ${flags} dist/daemon/main.js`, 'npm start');
  // npx mobilenet-edge runs the file itself: its first line (env -S: coreutils 8.30+, every distribution Node 20 runs on)
  t.equal(readFileSync(`${ROOT}daemon/main.ts`, 'utf8').split('\n')[0], `#!/usr/bin/env -S node ${flags}`, 'the bin (daemon/main.ts)');
  t.equal(pkg.bin['mobilenet-edge'], 'dist/daemon/main.js');
});

t.test('engine workers start without them', async (t) => {
  for (const f of SUPERVISOR_NODE_FLAGS) t.notOk(defaultWorkerCommand().includes(f), f);
});
