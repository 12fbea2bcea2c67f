import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig, maskSecrets, DEFAULT_MODEL, DEMO_SCENES_CLIP, type Config } from '../../daemon/config/config.js';
import { checkConfig, printConfig } from '../../daemon/config/cli.js';
import { fixture, manifest, packageRoot, problemsOf, paths, find } from '../helpers/config-fixtures.js';

t.test('embedded default (no file): scenes clip in faces mode, embedded broker, bundled model', async (t) => {
  const root = packageRoot(t);
  const c = loadConfig({ packageRoot: root, env: {} });
  t.equal(c.site, 'site');
  t.equal(c.deviceId, 'edge-1');
  t.equal(c.mqtt.url, '');
  t.equal(c.mqtt.embeddedPort, 1883);
  t.equal(c.mqtt.clientId, 'site-edge-1');
  t.equal(c.cameras.length, 1);
  t.same(c.cameras[0], { id: 'cam1', url: pathToFileURL(path.join(root, DEMO_SCENES_CLIP)).href, fps: 10, loop: true, mode: 'faces', frameWidth: 1280, frameHeight: 720 });
  t.ok(c.cameras[0].url.startsWith('file://'));
  t.equal(fileURLToPath(c.cameras[0].url), path.join(root, 'test/fixtures/scenes/scenes.mp4'));
  t.equal(c.model.path, path.join(root, DEFAULT_MODEL));
  t.ok(path.isAbsolute(c.model.path));
  t.same(c.engine, { backend: 'onnxruntime', executionProviders: ['cpu'], threads: 1, workers: 0, inferenceTimeoutMs: 10000, batch: { maxFrames: 0, waitMs: 0 } });
  t.equal(c.source.ffmpegPath, '');
  t.equal(c.log.level, 'info');
});

t.test('embedded default without the clip, the detector or the model reports all three', async (t) => {
  const root = t.testdir({});
  const ps = problemsOf(t, () => loadConfig({ packageRoot: root, env: {} }));
  t.same(paths(ps), ['cameras[0].url', 'faces.detector', 'model.path']);
  t.match(find(ps, 'cameras[0].url'), /scenes\.mp4 not found/);
  t.match(find(ps, 'faces.detector'), /not found/);
  t.match(find(ps, 'model.path'), /not found/);
});

t.test('a good file loads; relative model path falls back to packageRoot', async (t) => {
  const root = packageRoot(t);
  const c = loadConfig({ file: fixture('good.json'), packageRoot: root, env: {} });
  t.equal(c.site, 'plant-3');
  t.equal(c.deviceId, 'gate-jetson');
  t.equal(c.mqtt.url, 'mqtts://broker.example.com:8883');
  t.equal(c.mqtt.password, 's3cret');
  t.equal(c.mqtt.qos, 1);
  t.equal(c.mqtt.clientId, 'plant-3-gate-jetson');
  t.same(c.cameras, [
    { id: 'gate-north', url: 'rtsp://viewer:campass@10.0.0.21:554/stream1', fps: 5, loop: false, mode: 'faces', frameWidth: 1280, frameHeight: 720 },
    { id: 'gate-south', url: 'rtsp://10.0.0.22:554/stream1', fps: 10, loop: false, mode: 'faces', frameWidth: 1280, frameHeight: 720 },
  ]);
  t.same(c.engine.executionProviders, ['cuda', 'cpu']);
  t.equal(c.engine.threads, 2);
  t.equal(c.log.level, 'debug');
  t.equal(c.model.path, path.join(root, DEFAULT_MODEL), 'not beside the config file, so found under packageRoot');
});

t.test('a relative model path beside the config file wins over packageRoot', async (t) => {
  const root = packageRoot(t, {
    site: {
      'edge.json': JSON.stringify({ cameras: [{ id: 'c', url: 'rtsp://cam/s' }], model: { path: 'models/mask-mobilenet/model.json' } }),
      models: { 'mask-mobilenet': { 'model.json': JSON.stringify(manifest()), 'model.onnx': 'x' } },
      'dir.json': JSON.stringify({ cameras: [{ id: 'c', url: 'rtsp://cam/s' }], model: { path: 'models/mask-mobilenet' } }),
    },
  });
  const c = loadConfig({ file: path.join(root, 'site/edge.json'), packageRoot: root, env: {} });
  t.equal(c.model.path, path.join(root, 'site', DEFAULT_MODEL));
  const d = loadConfig({ file: path.join(root, 'site/dir.json'), packageRoot: root, env: {} });
  t.equal(d.model.path, path.join(root, 'site', DEFAULT_MODEL), 'a folder means <folder>/model.json');
});

t.test('env overrides win over the file', async (t) => {
  const root = packageRoot(t, { other: { 'model.json': JSON.stringify(manifest()), 'model.onnx': 'x' } });
  const env = {
    MOBILENET_EDGE_SITE: 'envsite',
    MOBILENET_EDGE_DEVICE_ID: 'envdev',
    MOBILENET_EDGE_MQTT_URL: 'ws://envbroker:9001',
    MOBILENET_EDGE_MQTT_USERNAME: 'envuser',
    MOBILENET_EDGE_MQTT_PASSWORD: 'envpass',
    MOBILENET_EDGE_MQTT_QOS: '2',
    MOBILENET_EDGE_MODEL: path.join(root, 'other/model.json'),
    MOBILENET_EDGE_LOG_LEVEL: 'warn',
  };
  const c = loadConfig({ file: fixture('good.json'), packageRoot: root, env });
  t.equal(c.site, 'envsite');
  t.equal(c.deviceId, 'envdev');
  t.equal(c.mqtt.url, 'ws://envbroker:9001');
  t.equal(c.mqtt.username, 'envuser');
  t.equal(c.mqtt.password, 'envpass');
  t.equal(c.mqtt.qos, 2);
  t.equal(c.model.path, path.join(root, 'other/model.json'));
  t.equal(c.log.level, 'warn');
  t.equal(c.cameras.length, 2, 'the rest still comes from the file');
});

t.test('a bad env value is reported with its env var; process.env is not read', async (t) => {
  const root = packageRoot(t);
  const ps = problemsOf(t, () => loadConfig({ file: fixture('good.json'), packageRoot: root, env: { MOBILENET_EDGE_MQTT_QOS: '7' } }));
  t.same(paths(ps), ['mqtt.qos']);
  t.match(find(ps, 'mqtt.qos'), /MOBILENET_EDGE_MQTT_QOS/);

  const saved = process.env.MOBILENET_EDGE_SITE;
  process.env.MOBILENET_EDGE_SITE = 'from-process-env';
  t.teardown(() => {
    if (saved === undefined) delete process.env.MOBILENET_EDGE_SITE;
    else process.env.MOBILENET_EDGE_SITE = saved;
  });
  t.equal(loadConfig({ packageRoot: root }).site, 'site');
  t.equal(loadConfig({ packageRoot: root, env: {} }).site, 'site');
});

t.test('unknown top-level and nested keys are each named', async (t) => {
  const root = packageRoot(t, {
    'c.json': JSON.stringify({
      cameras: [{ id: 'c', url: 'rtsp://cam/s', zoom: 3 }],
      colour: 'blue',
      extra: { a: 1, b: { c: 2 } },
      mqtt: { tls: { ca: 'x', cert: 'y' }, keepalive: 5 },
      log: { format: 'json' },
    }),
  });
  const ps = problemsOf(t, () => loadConfig({ file: path.join(root, 'c.json'), packageRoot: root, env: {} }));
  t.same(paths(ps), ['cameras[0].zoom', 'colour', 'extra', 'log.format', 'mqtt.keepalive', 'mqtt.tls']);
  for (const p of ps) t.equal(p.message, 'unknown key');
});

t.test('duplicate camera ids', async (t) => {
  const root = packageRoot(t, {
    'c.json': JSON.stringify({ cameras: [
      { id: 'cam1', url: 'rtsp://a/s' }, { id: 'cam2', url: 'rtsp://b/s' }, { id: 'cam1', url: 'rtsp://c/s' },
    ] }),
  });
  const ps = problemsOf(t, () => loadConfig({ file: path.join(root, 'c.json'), packageRoot: root, env: {} }));
  t.same(ps, [{ path: 'cameras[2].id', message: 'duplicate camera id "cam1"' }]);
});

t.test('bad camera and mqtt URLs', async (t) => {
  const root = packageRoot(t, {
    'c.json': JSON.stringify({
      mqtt: { url: 'http://user:hunter2@broker' },
      cameras: [
        { id: 'a', url: 'htp://x' },
        { id: 'b', url: 'rtsp://' },
        { id: 'c', url: 'file:///definitely/not/here.mp4' },
        { id: 'd', url: 'file://relative/clip.mp4' },
        { id: 'e', url: 'rtsps://cam.example.com/live' },
        { id: 'f', url: 'file://' + path.join(t.testdirName, 'models/demo/demo.mp4'), loop: true },
        { id: 'g' },
      ],
    }),
  });
  const ps = problemsOf(t, () => loadConfig({ file: path.join(root, 'c.json'), packageRoot: root, env: {} }));
  t.same(paths(ps), ['cameras[0].url', 'cameras[1].url', 'cameras[2].url', 'cameras[3].url', 'cameras[6].url', 'mqtt.url']);
  t.equal(find(ps, 'cameras[0].url'), '"htp://x" is not an rtsp://, rtsps:// or file:// URL');
  t.match(find(ps, 'cameras[1].url'), /no host/);
  t.match(find(ps, 'cameras[2].url'), /not found/);
  t.match(find(ps, 'cameras[3].url'), /absolute file URL/);
  t.match(find(ps, 'cameras[6].url'), /missing/);
  t.match(find(ps, 'mqtt.url'), /is not an mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\/ URL/);
  t.notMatch(find(ps, 'mqtt.url'), /hunter2/, 'the password in the URL is not echoed');
});

t.test('qos out of range and other value errors', async (t) => {
  const root = packageRoot(t, {
    'c.json': JSON.stringify({
      mqtt: { qos: 3, embeddedPort: 70000, reconnectMinMs: 60000, reconnectMaxMs: 1000 },
      cameras: [{ id: 'c', url: 'rtsp://cam/s', fps: 61, loop: 'yes' }],
      engine: { executionProviders: [], threads: -1, batch: { maxFrames: 17, waitMs: 5000 } },
      source: 'ffmpeg',
    }),
  });
  const ps = problemsOf(t, () => loadConfig({ file: path.join(root, 'c.json'), packageRoot: root, env: {} }));
  t.same(paths(ps), ['cameras[0].fps', 'cameras[0].loop', 'engine.batch.maxFrames', 'engine.batch.waitMs', 'engine.executionProviders', 'engine.threads', 'mqtt.embeddedPort', 'mqtt.qos', 'mqtt.reconnectMinMs', 'source']);
  t.match(find(ps, 'mqtt.qos'), /must be 0, 1 or 2 \(got 3\)/);
  t.match(find(ps, 'cameras[0].fps'), /1\.\.60/);
  t.match(find(ps, 'mqtt.reconnectMinMs'), /must not exceed mqtt.reconnectMaxMs/);
  t.match(find(ps, 'source'), /expected an object/);
});

t.test('model problems: missing model.json, bad JSON, invalid manifest, missing model file', async (t) => {
  const cam = [{ id: 'c', url: 'rtsp://cam/s', mode: 'classify' }];
  const bad = { ...manifest(), sha256: 'xyz', extra: 1 };
  const root = t.testdir({
    'missing.json': JSON.stringify({ cameras: cam, model: { path: 'nope/model.json' } }),
    'badjson.json': JSON.stringify({ cameras: cam, model: { path: 'm1/model.json' } }),
    m1: { 'model.json': '{ "format": ' },
    'invalid.json': JSON.stringify({ cameras: cam, model: { path: 'm2/model.json' } }),
    m2: { 'model.json': JSON.stringify(bad), 'model.onnx': 'x' },
    'nofile.json': JSON.stringify({ cameras: cam, model: { path: 'm3/model.json' } }),
    m3: { 'model.json': JSON.stringify(manifest()) },
  });
  const load = (f: string) => problemsOf(t, () => loadConfig({ file: path.join(root, f), packageRoot: path.join(root, 'pkg'), env: {} }));

  let ps = load('missing.json');
  t.same(paths(ps), ['model.path']);
  t.match(ps[0].message, /"nope\/model.json" not found/);
  t.match(ps[0].message, path.join(root, 'nope/model.json'));
  t.match(ps[0].message, path.join(root, 'pkg/nope/model.json'), 'both places it looked are named');

  ps = load('badjson.json');
  t.same(paths(ps), ['model.path']);
  t.match(ps[0].message, /invalid JSON/);

  ps = load('invalid.json');
  t.same(paths(ps), ['model.path', 'model.path']);
  t.match(ps.map((p) => p.message).join('\n'), /invalid manifest: sha256:/);
  t.match(ps.map((p) => p.message).join('\n'), /invalid manifest: extra: unknown key/);

  ps = load('nofile.json');
  t.same(paths(ps), ['model.path']);
  t.match(ps[0].message, `model file ${path.join(root, 'm3/model.onnx')}`);
});

t.test('bad JSON in the config file: one problem naming the file and position', async (t) => {
  const root = packageRoot(t);
  const f = fixture('bad-json.json');
  const ps = problemsOf(t, () => loadConfig({ file: f, packageRoot: root, env: {} }));
  t.equal(ps.length, 1);
  t.equal(ps[0].path, f);
  t.match(ps[0].message, /invalid JSON/);
  t.match(ps[0].message, /position \d+/);
  t.match(ps[0].message, /line 4/);
});

t.test('missing config file; non-object config file', async (t) => {
  const root = packageRoot(t, { 'array.json': '[]' });
  const f = path.join(root, 'does-not-exist.json');
  const ps = problemsOf(t, () => loadConfig({ file: f, packageRoot: root, env: {} }));
  t.same(ps.map((p) => p.path), [f]);
  t.match(ps[0].message, /not found/);
  const qs = problemsOf(t, () => loadConfig({ file: path.join(root, 'array.json'), packageRoot: root, env: {} }));
  t.match(qs[0].message, /expected a JSON object/);
});

t.test('a file needs at least one camera', async (t) => {
  const root = packageRoot(t, { 'none.json': '{}', 'empty.json': '{"cameras": []}' });
  for (const f of ['none.json', 'empty.json']) {
    const ps = problemsOf(t, () => loadConfig({ file: path.join(root, f), packageRoot: root, env: {} }));
    t.same(ps, [{ path: 'cameras', message: 'at least one camera is required' }], f);
  }
});

t.test('several problems are reported together (bad.json)', async (t) => {
  const root = packageRoot(t);
  const ps = problemsOf(t, () => loadConfig({ file: fixture('bad.json'), packageRoot: root, env: {} }));
  t.same(paths(ps), [
    'cameras[1].fps',
    'cameras[1].url',
    'cameras[2].id',
    'cameras[2].zoom',
    'colour',
    'engine.executionProviders[1]',
    'log.level',
    'mqtt.qos',
    'mqtt.tls',
    'mqtt.url',
    'site',
  ]);
  t.equal(find(ps, 'cameras[2].id'), 'duplicate camera id "cam1"');
  t.equal(find(ps, 'cameras[1].url'), '"htp://x" is not an rtsp://, rtsps:// or file:// URL');
  t.match(find(ps, 'engine.executionProviders[1]'), /openvino/);
});

t.test('maskSecrets hides passwords and URL credentials, leaves the rest', async (t) => {
  const root = packageRoot(t);
  const c = loadConfig({ file: fixture('good.json'), packageRoot: root, env: { MOBILENET_EDGE_MQTT_URL: 'mqtt://edge:urlpass@broker:1883' } });
  const m = maskSecrets(c) as Config;
  t.equal(m.mqtt.password, '********');
  t.equal(m.mqtt.url, 'mqtt://edge:********@broker:1883');
  t.equal(m.mqtt.username, 'edge');
  t.equal(m.cameras[0].url, 'rtsp://viewer:********@10.0.0.21:554/stream1', 'camera URL credentials too');
  t.equal(m.cameras[1].url, 'rtsp://10.0.0.22:554/stream1');
  t.equal(m.site, 'plant-3');
  t.equal(m.mqtt.keepaliveSec, 30);
  t.equal(m.model.path, c.model.path);
  t.notMatch(JSON.stringify(m), /s3cret|urlpass|campass/);
  t.equal(c.mqtt.password, 's3cret', 'the original is untouched');

  const plain = loadConfig({ packageRoot: root, env: {} });
  t.equal((maskSecrets(plain) as Config).mqtt.password, '', 'an empty password stays empty');

  const extra = maskSecrets({ ...c, extra: { apiToken: 't', clientSecret: 's', privateKey: 'k', key: 'k', monkey: 'banana', keepalive: 3 } } as unknown as Config) as Record<string, Record<string, unknown>>;
  t.same(extra.extra, { apiToken: '********', clientSecret: '********', privateKey: '********', key: '********', monkey: 'banana', keepalive: 3 });
});

t.test('checkConfig: 78 with every bad key printed, 0 for a good file', async (t) => {
  const root = packageRoot(t);
  const lines: string[] = [];
  t.equal(checkConfig(fixture('bad.json'), root, (l) => lines.push(l), {}), 78);
  t.equal(lines.length, 11);
  for (const l of lines) t.match(l, /^config error: \S+: /);
  for (const k of ['site', 'colour', 'mqtt.url', 'mqtt.qos', 'mqtt.tls', 'cameras[1].url', 'cameras[1].fps', 'cameras[2].id', 'cameras[2].zoom', 'engine.executionProviders[1]', 'log.level'])
    t.ok(lines.some((l) => l.startsWith(`config error: ${k}: `)), k);

  const ok: string[] = [];
  t.equal(checkConfig(fixture('good.json'), root, (l) => ok.push(l), {}), 0);
  t.same(ok, [`config OK: ${fixture('good.json')}`]);

  const missing: string[] = [];
  t.equal(checkConfig(path.join(root, 'nope.json'), root, (l) => missing.push(l), {}), 78);
  t.match(missing[0], /^config error: .*nope\.json: file not found/);
});

t.test('printConfig: effective config as JSON, secrets masked', async (t) => {
  const root = packageRoot(t);
  const lines: string[] = [];
  t.equal(printConfig(fixture('good.json'), root, (l) => lines.push(l), { MOBILENET_EDGE_LOG_LEVEL: 'error' }), 0);
  const printed = JSON.parse(lines.join('\n'));
  t.equal(printed.log.level, 'error');
  t.equal(printed.mqtt.password, '********');
  t.equal(printed.model.path, path.join(root, DEFAULT_MODEL));
  t.notMatch(lines.join('\n'), /s3cret/);

  const def: string[] = [];
  t.equal(printConfig(undefined, root, (l) => def.push(l)), 0);
  t.equal(JSON.parse(def.join('\n')).cameras[0].id, 'cam1');

  const bad: string[] = [];
  t.equal(printConfig(fixture('bad.json'), root, (l) => bad.push(l), {}), 78);
  t.ok(bad.length > 1 && bad.every((l) => l.startsWith('config error: ')));
});

t.test('fixtures are what the tests think they are', async (t) => {
  t.ok(fs.existsSync(fixture('good.json')));
  t.ok(fs.existsSync(fixture('bad.json')));
});
