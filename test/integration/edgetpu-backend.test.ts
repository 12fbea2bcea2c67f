// engine.backend "edgetpu": the daemon starts the Python Edge TPU worker instead of onnxruntime.
// No Coral here: the worker runs its test-only stand-in interpreter (selected by an env var that
// production never sets), so this checks the wiring, the protocol and the publishing, not a TPU.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/mqtt-collect.js';
import { startDaemon, writeConfig } from '../helpers/daemon.js';
import { standInClassifier, standInDetector } from '../helpers/edgetpu-stand-in.js';

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
  // faces mode (the default) with the default detector (UltraFace) and classifier (ONNX only): both run on
  // the CPU in an onnxruntime worker beside the Edge TPU one (D112), so neither is a config error any more
  t.notMatch(r.stdout + r.stderr, /faces\.detector/);
  t.notMatch(r.stdout + r.stderr, /model\.path/);
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

// Mixed layouts (D112), end to end: the built daemon splits the faces path over two engine workers; the Edge
// TPU worker runs the ONNX-backed TEST STAND-IN interpreter (real networks through OpenCV dnn, no TPU).
const scenesClip = `file://${join(root, 'test/fixtures/scenes/scenes.mp4')}`;
for (const layout of ['detector on the CPU, classifier on the Edge TPU worker', 'SSD detector on the Edge TPU worker, classifier on the CPU'] as const)
  t.test(`faces mode, ${layout}: labelled faces published`, async (t) => {
    const broker = await startMosquitto();
    t.teardown(() => broker.stop());
    const dir = mkdtempSync(join(tmpdir(), 'edgetpu-split-')); // not t.testdir: writeConfig below empties that
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const a = layout.startsWith('detector on the CPU');
    const cfg = writeConfig(t, {
      deviceId: 'coral-2',
      mqtt: { url: broker.url },
      http: { port: 0 },
      engine: { backend: 'edgetpu', executionProviders: ['edgetpu', 'cpu'] },
      ...(a ? { model: { path: standInClassifier(dir) } } : { faces: { detector: standInDetector(dir) } }),
      cameras: [{ id: 'door', url: scenesClip, fps: 5, loop: true, mode: 'faces', frameWidth: 640, frameHeight: 360 }],
    });
    const daemon = startDaemon(t, cfg, { MOBILENET_EDGE_TEST_STAND_IN_INTERPRETER: 'onnx' });
    const msg = await waitFor(broker.url, 'site/door/mask', (m) => JSON.parse(m.payload).faces?.some((f: { label: string }) => f.label), 60000).catch(() => undefined);
    t.ok(msg, `a result with labelled faces; daemon output:\n${daemon.output().slice(-3000)}`);
    const r = JSON.parse(msg!.payload);
    t.same(r.model, a ? { name: 'mask-stand-in', version: r.model.version } : { name: 'mask-mobilenet', version: r.model.version });
    t.equal(r.detector.name, a ? 'ultraface-masked-rfb-640' : 'ultraface-ssd-stand-in');
    for (const f of r.faces) if (f.label && !['mask', 'no_mask'].includes(f.label)) t.fail(`label ${f.label}`);
    t.match(daemon.output(), /face detector and classifier in two engine workers/);
    t.match(daemon.output(), a ? /"detector":"onnxruntime","classifier":"edgetpu"/ : /"detector":"edgetpu","classifier":"onnxruntime"/);
    t.match(daemon.output(), /"provider":"stand-in:edgetpu"/, 'the Edge TPU side reports the stand-in, never a real TPU');
    daemon.proc.kill('SIGTERM');
    t.equal(await daemon.exited(), 0);
  });
