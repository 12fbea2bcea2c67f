// End to end on real parts: GStreamer RTSP server → the built daemon (ffmpeg + onnxruntime worker)
// → mosquitto. The camera streams the bundled demo clip (40 face images from the val split, 1 s each,
// ground truth in models/demo/demo.json) and the published labels are checked against it.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMosquitto } from '../helpers/mosquitto.js';
import { startRtspServer } from '../helpers/rtsp.js';
import { startCollector, waitFor, type Msg } from '../helpers/mqtt-collect.js';
import { freePort } from '../helpers/ports.js';
import { alignLabels } from '../helpers/align.js';
import { DEMO_CLIP_URL, startDaemon, writeConfig } from '../helpers/daemon.js';

const root = join(import.meta.dirname, '..', '..');
const demo = JSON.parse(readFileSync(join(root, 'models/demo/demo.json'), 'utf8')) as {
  frames: number;
  framesPerImage: number;
  images: { label: string }[];
};
const truth = Array.from({ length: demo.frames }, (_, i) => demo.images[Math.floor(i / demo.framesPerImage)].label);

t.test('RTSP camera → daemon → mosquitto: labels match the clip, availability is retained', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const cam = await startRtspServer({ mounts: { '/cam1': join(root, 'models/demo/demo.mp4') } });
  t.teardown(() => cam.stop());

  const cfg = writeConfig(t, {
    site: 'site',
    deviceId: 'edge-1',
    mqtt: { url: broker.url, qos: 0 },
    cameras: [{ id: 'cam1', url: cam.url('/cam1'), fps: 10, mode: 'classify' }],
    model: { path: join(root, 'models/mask-mobilenet/model.json') },
    engine: { backend: 'onnxruntime', executionProviders: ['cpu'] },
    log: { level: 'info' },
  });
  const results = startCollector(broker.url, 'site/cam1/mask', { timeoutMs: 120000, qos: 0 });
  await results.ready;
  const daemon = startDaemon(t, cfg);

  await waitFor(broker.url, 'site/edge-1/status', (m: Msg) => m.payload === 'online', 30000);
  // A fresh subscriber gets the retained copy (live deliveries never carry the retain flag).
  const online = await waitFor(broker.url, 'site/edge-1/status', () => true, 5000);
  t.equal(online.payload, 'online', 'birth message');
  t.ok(online.retain, 'availability is retained');

  // Let the stream settle (first frames, warm caches), then take a full loop of the clip and more.
  const start = Date.now();
  while (results.messages.length < 20 && Date.now() - start < 30000) await new Promise((r) => setTimeout(r, 200));
  t.ok(results.messages.length >= 20, `results are flowing (${results.messages.length}); daemon output:\n${daemon.output().slice(-3000)}`);
  const skip = results.messages.length;
  // Exactly one loop: every image of the clip is weighted the same.
  const want = skip + demo.frames;
  while (results.messages.length < want && Date.now() - start < 90000) await new Promise((r) => setTimeout(r, 250));
  const msgs = results.messages.slice(skip).map((m) => JSON.parse(m.payload));
  t.ok(msgs.length >= demo.frames, `one full loop of the clip was classified (${msgs.length} results)${msgs.length < demo.frames ? `; daemon output:\n${daemon.output().slice(-4000)}\nRTSP server:\n${cam.logs().slice(-2000)}` : ""}`);

  const r0 = msgs[0];
  t.equal(r0.camera, 'cam1');
  t.equal(typeof r0.frame, 'number');
  t.ok(!Number.isNaN(Date.parse(r0.ts)) && r0.ts.endsWith('Z'), 'ts is ISO 8601');
  t.ok(['mask', 'no_mask'].includes(r0.label));
  t.ok(r0.score >= 0.5 && r0.score <= 1);
  t.same(Object.keys(r0.scores).sort(), ['mask', 'no_mask']);
  t.ok(Math.abs(r0.scores.mask + r0.scores.no_mask - 1) < 1e-3, 'scores are probabilities');
  t.same(r0.model, { name: 'mask-mobilenet', version: JSON.parse(readFileSync(join(root, 'models/mask-mobilenet/model.json'), 'utf8')).version });
  t.ok(r0.latencyMs >= 0 && r0.latencyMs < 5000, `latencyMs ${r0.latencyMs}`);

  // The camera's frame numbers count every decoded frame, so frame n shows clip frame (n + offset) mod 400.
  const a = alignLabels(msgs.map((m) => ({ frame: m.frame, label: m.label })), truth);
  t.comment(`accuracy ${(a.accuracy * 100).toFixed(2)}% over ${a.total} results (offset ${a.offset}, ${a.wrong.length} wrong)`);
  t.comment(`wrong: ${JSON.stringify(a.wrong.map((w) => [w.frame, (w.frame + a.offset) % demo.frames, w.label]))}`);
  t.ok(a.accuracy >= 0.95, `≥ 95% of published labels match the clip (${(a.accuracy * 100).toFixed(2)}%)`);

  // Broker outage: results stop, the daemon keeps running, reconnects, and results resume.
  const port = broker.port;
  await results.close();
  await broker.stop();
  await new Promise((r) => setTimeout(r, 3000));
  t.equal(daemon.proc.exitCode, null, 'daemon survives the broker outage');
  const broker2 = await startMosquitto({ port });
  t.teardown(() => broker2.stop());
  const back = await waitFor(broker2.url, 'site/cam1/mask', () => true, 45000);
  t.ok(JSON.parse(back.payload).frame > msgs.at(-1).frame + 20, 'results resume after reconnect; frames during the outage were dropped, not queued');
  const online2 = await waitFor(broker2.url, 'site/edge-1/status', (m: Msg) => m.payload === 'online', 10000);
  t.equal(online2.payload, 'online', 'birth message again after reconnect');

  // Clean stop: retained "stopped", exit 0 within 5 s.
  const t0 = Date.now();
  daemon.proc.kill('SIGTERM');
  t.equal(await daemon.exited(), 0, 'clean exit on SIGTERM');
  t.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
  const stopped = await waitFor(broker2.url, 'site/edge-1/status', () => true, 5000);
  t.equal(stopped.payload, 'stopped', 'retained "stopped" after a clean stop');
});

t.test('Last Will: a killed daemon is reported offline', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  const cfg = writeConfig(t, {
    deviceId: 'edge-9',
    mqtt: { url: broker.url, keepaliveSec: 2 },
    cameras: [{ id: 'cam1', url: `file://${join(root, 'models/demo/demo.mp4')}`, fps: 10, loop: true }],
  });
  const daemon = startDaemon(t, cfg);
  const first = await waitFor(broker.url, 'site/cam1/mask', () => true, 30000);
  t.ok(JSON.parse(first.payload).label, 'file:// camera (the demo path) produces results');
  daemon.proc.kill('SIGKILL');
  await waitFor(broker.url, 'site/edge-9/status', (m: Msg) => m.payload === 'offline', 15000);
  const will = await waitFor(broker.url, 'site/edge-9/status', () => true, 5000);
  t.equal(will.payload, 'offline');
  t.ok(will.retain, 'offline is retained');
});

t.test('embedded broker when mqtt.url is empty', async (t) => {
  const port = await freePort();
  const cfg = writeConfig(t, { mqtt: { url: '', embeddedPort: port }, http: { port: 0 }, cameras: [{ id: 'door', url: DEMO_CLIP_URL, fps: 5, loop: true, mode: 'classify' }] });
  const daemon = startDaemon(t, cfg);
  const url = `mqtt://127.0.0.1:${port}`;
  let msg: Msg | undefined;
  // The broker starts with the daemon: retry until it listens and results arrive.
  for (let i = 0; i < 30 && !msg; i++) {
    msg = await waitFor(url, 'site/door/mask', () => true, 2000).catch(() => new Promise<undefined>((r) => setTimeout(() => r(undefined), 500)));
  }
  t.ok(msg, `results on the embedded broker; daemon output:\n${daemon.output().slice(-2000)}`);
  daemon.proc.kill('SIGTERM');
  t.equal(await daemon.exited(), 0);
});
