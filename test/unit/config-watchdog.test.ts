// The watchdog / http / outbox config sections and the migration of the older keys.
import t from 'tap';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig, ConfigError } from '../../daemon/config/config.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cam = { id: 'cam1', url: 'rtsp://127.0.0.1:8554/cam1' };

function load(t: import('tap').Test, content: object, env: NodeJS.ProcessEnv = {}) {
  const dir = t.testdir({});
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ cameras: [cam], ...content }));
  return loadConfig({ file, env, packageRoot: root });
}

t.test('defaults', async (t) => {
  const c = load(t, {});
  t.same(c.watchdog, {
    frameStallSec: 15,
    restartMinMs: 1000,
    restartMaxMs: 30000,
    healthyResetSec: 30,
    inferenceTimeoutMs: 10000,
    heartbeatMs: 5000,
    heartbeatTimeoutMs: 5000,
    errorStormCount: 20,
    errorStormWindowSec: 10,
    budgetRestarts: 5,
    budgetWindowSec: 60,
    engineDownSec: 60,
    healthIntervalSec: 10,
    readyTimeoutSec: 30,
    loadTimeoutSec: 60,
    buildTimeoutSec: 3600,
  });
  t.same(c.http, { port: 9464, host: '127.0.0.1', allowRemote: false, token: '', tokenFile: '' });
  t.same(c.outbox, { dir: '', maxMessages: 1000 });
});

t.test('old keys still work: they fill the watchdog section when it does not set them', async (t) => {
  const c = load(t, { source: { stallSec: 7, restartMinMs: 200, restartMaxMs: 4000 }, engine: { inferenceTimeoutMs: 900 } });
  t.equal(c.watchdog.frameStallSec, 7);
  t.equal(c.watchdog.restartMinMs, 200);
  t.equal(c.watchdog.restartMaxMs, 4000);
  t.equal(c.watchdog.inferenceTimeoutMs, 900);
  const d = load(t, { source: { stallSec: 7 }, watchdog: { frameStallSec: 3 } });
  t.equal(d.watchdog.frameStallSec, 3, 'the watchdog key wins over the old one');
});

t.test('the state dir comes from STATE_DIRECTORY (systemd StateDirectory=)', async (t) => {
  t.equal(load(t, {}, { STATE_DIRECTORY: '/var/lib/mobilenet-edge' }).outbox.dir, '/var/lib/mobilenet-edge');
});

t.test('bad values are reported with their key paths', async (t) => {
  try {
    load(t, { watchdog: { frameStallSec: 0, restartMinMs: 5000, restartMaxMs: 1000, nope: 1 }, http: { port: 70000 } });
    t.fail('should throw');
  } catch (e) {
    t.ok(e instanceof ConfigError);
    const paths = (e as ConfigError).problems.map((p) => p.path).sort();
    t.same(paths, ['http.port', 'watchdog.frameStallSec', 'watchdog.nope', 'watchdog.restartMinMs']);
  }
});
