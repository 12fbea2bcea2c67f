// Tests of the test fixtures themselves: a real mosquitto, a real GStreamer RTSP server that loops
// its clips, the ffmpeg reader used against it, and the demo clip's ground truth.
import t from 'tap';
import mqtt from 'mqtt';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/ports.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { CollectTimeoutError, collect, startCollector, waitFor } from '../helpers/mqtt-collect.js';
import { startRtspServer } from '../helpers/rtsp.js';
import { procState } from '../helpers/proc.js';
import { countFrames, makeTestClip, meanAbsDiff, readFrames, startFrameReader } from '../helpers/ffmpeg.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEMO_DIR = join(ROOT, 'models/demo');
const DATASET = '/work/shared/datasets/face-mask';
const FRAME_BYTES = 160 * 120 * 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

function tcpConnects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

t.test('freePort gives a port on 127.0.0.1 that can be bound', async (t) => {
  const port = await freePort();
  t.ok(Number.isInteger(port) && port > 1024 && port < 65536, `port ${port}`);
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', resolve);
  });
  t.equal((srv.address() as { port: number }).port, port);
  await new Promise<void>((r) => srv.close(() => r()));
});

t.test('mosquitto: QoS 1 round trip, retained messages, collect/waitFor', async (t) => {
  const broker = await startMosquitto();
  t.teardown(() => broker.stop());
  t.match(broker.url, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
  t.equal(broker.url, `mqtt://127.0.0.1:${broker.port}`);
  t.match(readFileSync(join(broker.dir, 'mosquitto.conf'), 'utf8'), /^max_queued_messages 0$/m);

  const pub = await mqtt.connectAsync(broker.url, { clientId: 'fixtures-pub', reconnectPeriod: 0 });
  t.teardown(() => pub.endAsync(true));

  // QoS 1 round trip: subscribe first (wait for the SUBACK), then publish with PUBACKs.
  const N = 20;
  const c = startCollector(broker.url, 'fx/qos1/#', { until: (m) => m.length >= N, timeoutMs: 5000 });
  await c.ready;
  for (let i = 0; i < N; i++) {
    const ack = await pub.publishAsync(`fx/qos1/${i % 2 ? 'odd' : 'even'}`, `m${i}`, { qos: 1 });
    t.ok(ack, 'publish was acknowledged');
  }
  const msgs = await c.done;
  t.equal(msgs.length, N);
  t.same(msgs.map((m) => m.payload), Array.from({ length: N }, (_, i) => `m${i}`), 'all messages, in order');
  t.same(msgs[1], { topic: 'fx/qos1/odd', payload: 'm1', retain: false, qos: 1 });
  t.ok(msgs.every((m) => m.qos === 1 && !m.retain));

  // Retained: a subscriber that arrives later gets it, flagged retain.
  await pub.publishAsync('fx/status', 'online', { qos: 1, retain: true });
  const got = await waitFor(broker.url, 'fx/status', (m) => m.payload === 'online', 3000);
  t.same(got, { topic: 'fx/status', payload: 'online', retain: true, qos: 1 });
  // An empty retained message clears it: a new subscriber then gets nothing.
  await pub.publishAsync('fx/status', '', { qos: 1, retain: true });
  t.same(await collect(broker.url, 'fx/status', { timeoutMs: 400 }), [], 'retained message cleared');

  // collect without `until` returns what arrived; with `until` it rejects on timeout.
  const live = startCollector(broker.url, 'fx/live', { timeoutMs: 500, qos: 0 });
  await live.ready;
  await pub.publishAsync('fx/live', 'a', { qos: 0 });
  t.same((await live.done).map((m) => [m.payload, m.qos]), [['a', 0]]);
  await t.rejects(
    collect(broker.url, 'fx/never', { until: (m) => m.length > 0, timeoutMs: 300 }),
    CollectTimeoutError,
    'collect rejects when `until` is not met in time',
  );

  // Port clash: the error carries mosquitto's own log.
  await t.rejects(startMosquitto({ port: broker.port }), /Address already in use/);

  // stop() kills the broker and removes its folder.
  await broker.stop();
  t.notOk(await tcpConnects(broker.port), 'port closed after stop');
  t.notOk(existsSync(broker.dir), 'temp folder removed');
});

t.test('mosquitto: extra config lines are used, and a bad one is reported', async (t) => {
  await t.rejects(startMosquitto({ extraConfig: ['no_such_option true'] }), /no_such_option/);
  const port2 = await freePort();
  const broker = await startMosquitto({ extraConfig: [`listener ${port2} 127.0.0.1`] });
  t.teardown(() => broker.stop());
  t.ok(await tcpConnects(port2), 'second listener from extraConfig is open');
});

t.test('RTSP server loops a clip forever and serves late clients', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fixtures-rtsp-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const clip = join(dir, 'loop.mp4');
  await makeTestClip(clip, { seconds: 2, fps: 10, gop: 10 });
  t.equal(await countFrames(clip), 20, 'test clip: 2 s at 10 fps');

  const cam = await startRtspServer({ mounts: { '/loop': clip, '/demo': join(DEMO_DIR, 'demo.mp4') } });
  t.teardown(() => cam.stop());
  t.equal(cam.url('/loop'), `rtsp://127.0.0.1:${cam.port}/loop`);

  // Client A reads 5 s of stream: 2.5 times the clip. Client B connects once A is in the second
  // loop and reads 3 s.
  const a = startFrameReader(cam.url('/loop'), { seconds: 5 });
  await until(() => a.count() >= 25, 10_000, 'client A to get past the end of the clip');
  const b = await readFrames(cam.url('/loop'), { seconds: 3 });
  const ra = await a.done;

  t.equal(ra.code, 0, `client A exit code (stderr: ${ra.stderr})`);
  t.equal(ra.trailingBytes, 0, 'whole frames only');
  t.ok(ra.frames.every((f) => f.length === FRAME_BYTES), 'every frame is 160*120*3 bytes');
  t.ok(ra.frames.length >= 48 && ra.frames.length <= 52, `client A got ${ra.frames.length} frames in 5 s (expect ~50)`);
  t.ok(ra.firstFrameMs !== undefined && ra.firstFrameMs < 3000, `first frame after ${ra.firstFrameMs} ms`);
  // Looping, not just streaming: every frame equals the one a clip length (20 frames) later, even
  // across B's arrival; and the content does change within the clip.
  const lag20 = ra.frames.slice(0, -20).map((f, i) => meanAbsDiff(f, ra.frames[i + 20]));
  const lag10 = ra.frames.slice(0, -10).map((f, i) => meanAbsDiff(f, ra.frames[i + 10]));
  t.ok(Math.max(...lag20) < 1, `frame n == frame n+20 (max diff ${Math.max(...lag20).toFixed(2)})`);
  t.ok(Math.min(...lag10) > 5, `frame n != frame n+10 (min diff ${Math.min(...lag10).toFixed(2)})`);

  t.equal(b.code, 0, `client B exit code (stderr: ${b.stderr})`);
  // B joins a running stream and starts at a keyframe: it loses the rest of the current GOP (up to
  // 10 frames), and ffmpeg's -t counts from the first packet it saw. Typically 20-30 frames; with
  // both cores kept busy, 9-10.
  t.ok(b.frames.length >= 5, `late client B got ${b.frames.length} frames in 3 s`);
  t.ok(b.frames.every((f) => f.length === FRAME_BYTES));
  const firstB = b.frames[0];
  const match = ra.frames.slice(0, 20).findIndex((f) => meanAbsDiff(f, firstB) < 1);
  t.ok(match >= 0, 'B sees the same clip as A');
  t.equal(match % 10, 0, `B starts on a keyframe (frame ${match} of the clip)`);

  // After every client has left, new clients (and the second mount) still work.
  const [c, d] = await Promise.all([
    readFrames(cam.url('/loop'), { seconds: 1 }),
    readFrames(cam.url('/demo'), { seconds: 1 }),
  ]);
  t.ok(c.code === 0 && c.frames.length >= 8, `new client after the others left: ${c.frames.length} frames`);
  t.ok(d.code === 0 && d.frames.length >= 8, `/demo mount: ${d.frames.length} frames`);

  // Port clash: the server's stderr is in the error.
  await t.rejects(startRtspServer({ mounts: { '/x': clip }, port: cam.port }), /Address already in use/);

  await cam.stop();
  t.equal(cam.proc.exitCode, 0, 'SIGTERM: clean exit');
  t.notOk(await tcpConnects(cam.port), 'port closed after stop');
});

t.test('RTSP server can be frozen (SIGSTOP), resumed and killed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fixtures-rtsp-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const clip = join(dir, 'loop.mp4');
  await makeTestClip(clip, { seconds: 2 });
  const cam = await startRtspServer({ mounts: { '/cam1': clip } });
  t.teardown(() => cam.stop());

  const r = startFrameReader(cam.url('/cam1'));
  t.teardown(() => r.stop());
  await until(() => r.count() >= 10, 10_000, '10 frames');

  await cam.pause();
  t.equal(procState(cam.proc.pid!), 'T', 'server process is stopped');
  await sleep(300); // let frames already on the way arrive
  const n1 = r.count();
  await sleep(1500);
  t.ok(r.count() - n1 <= 1, `no frames while frozen (${r.count() - n1})`);

  await cam.resume();
  t.not(procState(cam.proc.pid!), 'T', 'server process runs again');
  const n2 = r.count();
  await until(() => r.count() >= n2 + 5, 5000, 'frames after resume');
  t.pass('frames flow again after resume');

  await cam.kill();
  t.equal(cam.proc.signalCode, 'SIGKILL');
  const res = await Promise.race([r.done, sleep(5000).then(() => undefined)]);
  t.ok(res, 'the reader notices a killed server within 5 s');
  await cam.stop(); // no-op on a dead server
});

t.test('demo clip matches its ground truth', async (t) => {
  const meta = JSON.parse(await readFile(join(DEMO_DIR, 'demo.json'), 'utf8'));
  t.match(meta, { fps: 10, framesPerImage: 10, width: 640, height: 480, frames: 400 });
  t.equal(meta.images.length * meta.framesPerImage, meta.frames);
  t.same(meta.images.map((im: { index: number }) => im.index), [...Array(40).keys()]);
  const labels: string[] = meta.images.map((im: { label: string }) => im.label);
  t.equal(labels.filter((l) => l === 'mask').length, 20);
  t.equal(labels.filter((l) => l === 'no_mask').length, 20);
  // Runs of 2-4 images with the same label.
  const runs: number[] = [];
  labels.forEach((l, i) => (i > 0 && l === labels[i - 1] ? runs[runs.length - 1]++ : runs.push(1)));
  t.ok(runs.every((n) => n >= 2 && n <= 4), `runs ${runs.join(',')}`);
  t.ok(runs.length >= 10, `${runs.length - 1} label changes`);
  for (const im of meta.images) {
    t.match(im.file, /^val\/(mask|no_mask)\/\d+\.jpg$/);
    t.equal(im.file.split('/')[1], im.label);
  }
  t.equal(new Set(meta.images.map((im: { file: string }) => im.file)).size, 40, 'no image twice');

  const mp4 = await readFile(join(DEMO_DIR, 'demo.mp4'));
  t.ok(mp4.length < 2 * 1024 * 1024, `demo.mp4 is ${mp4.length} bytes`);
  t.equal(createHash('sha256').update(mp4).digest('hex'), meta.video.sha256, 'demo.mp4 is the one demo.json describes');
  t.equal(await countFrames(join(DEMO_DIR, 'demo.mp4')), 400, 'ffprobe -count_frames');
  t.ok(existsSync(join(DEMO_DIR, 'LICENSE-face-mask-dataset')), 'dataset licence is next to the clip');

  if (!existsSync(DATASET)) {
    t.comment(`${DATASET} not here: image hashes not checked`);
    return;
  }
  for (const im of meta.images) {
    const sha = createHash('sha256').update(readFileSync(join(DATASET, im.file))).digest('hex');
    t.equal(sha, im.sha256, im.file);
  }
});
