// The built command-line tools, run as a user runs them.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const run = (bin: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [join(root, bin), ...args], { encoding: 'utf8', env: { ...process.env, ...env }, cwd: root });

t.test('mobilenet-edge --check-config names every bad key and exits 78', async (t) => {
  const r = run('dist/daemon/main.js', ['--check-config', join(root, 'test/fixtures/config/bad.json')]);
  t.equal(r.status, 78);
  const out = r.stdout + r.stderr;
  for (const key of ['site:', 'colour: unknown key', 'mqtt.url:', 'mqtt.qos:', 'mqtt.tls: unknown key', 'cameras[1].url:', 'cameras[1].fps:', 'cameras[2].zoom: unknown key', 'cameras[2].id: duplicate camera id', 'engine.executionProviders[1]:', 'log.level:'])
    t.match(out, `config error: ${key}`, key);
});

t.test('--check-config on a good file exits 0', async (t) => {
  const dir = t.testdir({});
  const f = join(dir, 'ok.json');
  writeFileSync(f, JSON.stringify({ cameras: [{ id: 'cam1', url: 'rtsp://127.0.0.1:8554/cam1' }], mqtt: { url: 'mqtt://127.0.0.1:1883' } }));
  const r = run('dist/daemon/main.js', ['--check-config', f]);
  t.equal(r.status, 0, r.stdout + r.stderr);
  t.match(r.stdout, 'config OK');
});

t.test('--config FILE --check-config checks that file; --check-config alone says how to call it', async (t) => {
  const dir = t.testdir({});
  const f = join(dir, 'ok.json');
  writeFileSync(f, JSON.stringify({ cameras: [{ id: 'cam1', url: 'rtsp://127.0.0.1:8554/cam1' }], mqtt: { url: 'mqtt://127.0.0.1:1883' } }));
  const r = run('dist/daemon/main.js', ['--config', f, '--check-config']);
  t.equal(r.status, 0, r.stdout + r.stderr);
  t.match(r.stdout, 'config OK');
  const bad = run('dist/daemon/main.js', ['--config', join(root, 'test/fixtures/config/bad.json'), '--check-config']);
  t.equal(bad.status, 78, 'the --config file is the one checked');
  const alone = run('dist/daemon/main.js', ['--check-config']);
  t.equal(alone.status, 64);
  t.match(alone.stderr, '--check-config needs a file: mobilenet-edge --check-config FILE (or --config FILE --check-config)');
  const two = run('dist/daemon/main.js', ['--config', f, '--check-config', join(root, 'test/fixtures/config/bad.json')]);
  t.equal(two.status, 64);
  t.match(two.stderr, /name different files/);
});

t.test('running with a bad config refuses to start, exit 78', async (t) => {
  const r = run('dist/daemon/main.js', ['--config', join(root, 'test/fixtures/config/bad.json')]);
  t.equal(r.status, 78);
  t.match(r.stderr, 'config error: mqtt.qos');
});

t.test('--print-config masks secrets (file and environment)', async (t) => {
  const dir = t.testdir({});
  const f = join(dir, 'c.json');
  writeFileSync(f, JSON.stringify({ cameras: [{ id: 'cam1', url: 'rtsp://admin:camsecret@127.0.0.1/cam1' }], mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'edge', password: 'filesecret' } }));
  chmodSync(f, 0o600); // a config holding a password must not be readable by others (security.secretFilePermissions)
  const r = run('dist/daemon/main.js', ['--config', f, '--print-config'], { MOBILENET_EDGE_MQTT_PASSWORD: 'envsecret' });
  t.equal(r.status, 0, r.stderr);
  t.notMatch(r.stdout, /camsecret|filesecret|envsecret/);
  const c = JSON.parse(r.stdout);
  t.equal(c.mqtt.username, 'edge');
  t.equal(c.mqtt.password, '********');
});

t.test('the embedded default config points at the bundled model, the scenes clip in faces mode and the embedded broker', async (t) => {
  const r = run('dist/daemon/main.js', ['--print-config']);
  t.equal(r.status, 0, r.stderr);
  const c = JSON.parse(r.stdout);
  t.equal(c.mqtt.url, '');
  t.equal(c.cameras.length, 1);
  t.match(c.cameras[0].url, /^file:\/\/.*test\/fixtures\/scenes\/scenes\.mp4$/);
  t.equal(c.cameras[0].mode, 'faces');
  t.match(c.model.path, /models\/mask-mobilenet\/model\.json$/);
});

t.test('unknown arguments are refused with usage', async (t) => {
  const r = run('dist/daemon/main.js', ['--frobnicate']);
  t.equal(r.status, 64);
  t.match(r.stderr, 'usage: mobilenet-edge');
  const e = run('dist/deploy/edgectl.js', ['frobnicate']);
  t.equal(e.status, 64);
  t.match(e.stderr, 'unknown command');
});

t.test('edgectl eval reports accuracy and the confusion matrix', async (t) => {
  const r = run('dist/deploy/edgectl.js', ['eval', join(root, 'test/fixtures/faces'), '--model', join(root, 'models/mask-mobilenet/model.json'), '--json']);
  t.equal(r.status, 0, r.stderr);
  const m = JSON.parse(r.stdout);
  t.same(m.labels, ['mask', 'no_mask']);
  t.equal(m.total, m.matrix.flat().reduce((a: number, b: number) => a + b, 0));
  t.ok(m.accuracy >= 0.9, `accuracy on the fixture crops ${m.accuracy}`);
  const bad = run('dist/deploy/edgectl.js', ['eval', join(root, 'test/fixtures'), '--model', join(root, 'models/mask-mobilenet/model.json')]);
  t.equal(bad.status, 1);
  t.match(bad.stderr, /folders that are not labels/);
});
