// engine.backend "edgetpu": the daemon starts the Python Edge TPU worker instead of onnxruntime.
// No Coral here: the worker runs its test-only stand-in interpreter (selected by an env var that
// production never sets), so this checks the wiring, the protocol and the publishing, not a TPU.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/mqtt-collect.js';
import { startDaemon, writeConfig } from '../helpers/daemon.js';

const root = join(import.meta.dirname, '..', '..');
const coral = join(root, 'test/fixtures/coral/model.json');
const demo = `file://${join(root, 'models/demo/demo.mp4')}`;

t.test('config: the edgetpu backend takes edgetpu/cpu, classify mode and a bundle with a TFLite file', async (t) => {
  const dir = t.testdir({});
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ engine: { backend: 'edgetpu', executionProviders: ['tensorrt'], workers: 2 }, cameras: [{ id: 'cam1', url: demo, loop: true }] }));
  const r = spawnSync(process.execPath, [join(root, 'dist/daemon/main.js'), '--check-config', bad], { encoding: 'utf8' });
  t.equal(r.status, 78);
  t.match(r.stdout + r.stderr, 'engine.executionProviders[0]: the edgetpu backend runs edgetpu or cpu');
  // faces mode (the default) with the default detector, UltraFace: not one the Edge TPU worker reads
  t.match(r.stdout + r.stderr, /faces\.detector: with engine\.backend "edgetpu", faces mode needs an SSD face detector with post-processing as an edgetpu or tflite file .*UltraFace on the CPU beside the Edge TPU classifier is not built yet/);
  t.match(r.stdout + r.stderr, /model\.path: .*has no edgetpu or tflite file/);
  t.match(r.stdout + r.stderr, 'engine.workers: the Edge TPU is one device, opened by one worker process: set 1 or 0 (auto), got 2');
});

t.test('the daemon runs the Edge TPU worker and publishes its results', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const cfg = writeConfig(t, {
    deviceId: 'coral-1',
    mqtt: { url: broker.url },
    http: { port: 0 },
    engine: { backend: 'edgetpu', executionProviders: ['edgetpu', 'cpu'] },
    model: { path: coral },
    cameras: [{ id: 'door', url: demo, fps: 5, loop: true, mode: 'classify' }],
  });
  const daemon = startDaemon(t, cfg, { MOBILENET_EDGE_TEST_STAND_IN_INTERPRETER: '1' });
  const msg = await waitFor(broker.url, 'site/door/mask', () => true, 30000).catch(() => undefined);
  t.ok(msg, `a result from the Edge TPU worker; daemon output:\n${daemon.output().slice(-3000)}`);
  const r = JSON.parse(msg!.payload);
  t.same(r.model, { name: 'coral-mobilenet-v1-025-128', version: '1.0.0' });
  t.equal(typeof r.label, 'string');
  t.match(daemon.output(), /"provider":"stand-in:edgetpu"/, 'the engine reports the stand-in, never a real TPU');
  daemon.proc.kill('SIGTERM');
  t.equal(await daemon.exited(), 0);
});
