// Motion gating in the frame path (pipelines/motion-reuse.ts): what is reused, what goes to the engine.
import t from 'tap';
import { MotionReuse } from '../../pipelines/motion-reuse.js';
import type { CameraConfig } from '../../daemon/config/config.js';
import type { FacesFrameResult } from '../../pipelines/pipeline.js';
import type { Frame } from '../../pipelines/sources/process-source.js';
import { monoMs } from '../../pipelines/clock.js';

const W = 320, H = 180;
const cam = (id: string, motion?: Partial<CameraConfig['motion']>, mode: 'faces' | 'classify' = 'faces'): CameraConfig => ({
  id, url: 'rtsp://x/y', fps: 10, loop: false, mode,
  ...(motion ? { motion: { enabled: true, pixelThreshold: 20, areaThreshold: 0.005, maxReuseSec: 2, ...motion } } : {}),
});
let seq = 0;
// the same moments on the monotonic clock (latency and the refresh are measured on it, D165)
const MONO = Math.round(monoMs() - Date.now()); // whole ms: differences stay exact
const frame = (camera: string, v: number, ts: number): Frame => ({ camera, seq: seq++, ts, mono: ts + MONO, width: W, height: H, format: 'rgb24', data: Buffer.alloc(W * H * 3, v), hold() {}, release() {} });
const result = (f: Frame, label: FacesFrameResult['label'] = 'no_mask'): FacesFrameResult => ({
  camera: f.camera, frame: f.seq, ts: new Date(f.ts).toISOString(), label, score: 0.9, scores: { mask: 0.1, no_mask: 0.9 },
  faces: [{ box: [1, 2, 3, 4], label: 'no_mask', score: 0.9, detScore: 0.99 }], counts: { faces: 1, mask: 0, no_mask: 1 },
  frameSize: [W, H], model: { name: 'm', version: '1' }, detector: { name: 'd', version: '1' }, latencyMs: 12, inferMs: 5, detectMs: 3, classifyMs: 2,
});
const working = [{ box: [1, 2, 3, 4] as [number, number, number, number], crop: [0, 0, 8, 8] as [number, number, number, number], detScore: 0.99, label: 'no_mask', score: 0.9, scores: {} }];

t.test('still frames after a detection reuse its result, marked, with their own frame, ts and latency', async (t) => {
  const m = new MotionReuse();
  m.add(cam('door', {}));
  const now = Date.now();
  const f0 = frame('door', 50, now - 300);
  t.equal(m.offer(f0), null, 'first frame: to the engine');
  const r0 = result(f0);
  m.detected(f0, r0, working);
  m.settled(f0);
  const f1 = frame('door', 52, now - 200);
  const got = m.offer(f1);
  t.ok(got, 'a still frame is reused');
  t.match(got!.result, { camera: 'door', frame: f1.seq, ts: new Date(f1.ts).toISOString(), label: 'no_mask', faces: r0.faces, counts: r0.counts, reused: true, reusedFrom: f0.seq, inferMs: 0, detectMs: 0, classifyMs: 0 });
  t.ok(got!.result.latencyMs >= 200 && got!.result.latencyMs < 2000, `latency from the new frame's capture (${got!.result.latencyMs} ms)`);
  t.equal(got!.workingFaces, working, 'faces in working pixels for the preview');
  t.notOk('reused' in r0, 'the detected result itself is not marked');
  t.equal(m.reusedCount('door'), 1);
  t.equal(m.offer(frame('door', 100, now - 100)), null, 'a changed frame goes to the engine');
  // a result from a batched engine request: the copy does not claim a batch
  const m2 = new MotionReuse();
  m2.add(cam('door', {}));
  const g0 = frame('door', 50, now - 300);
  m2.offer(g0);
  m2.detected(g0, { ...result(g0), batch: 2 }, working);
  m2.settled(g0);
  const again = m2.offer(frame('door', 50, now - 200));
  t.notOk(again && 'batch' in again.result, 'no batch on a reused result');
});

t.test('no reuse before a first result, while a detection is pending, or after a failure', async (t) => {
  const m = new MotionReuse();
  m.add(cam('door', {}));
  const f0 = frame('door', 50, 1000);
  t.equal(m.offer(f0), null);
  t.equal(m.offer(frame('door', 50, 1100)), null, 'still, but no result yet: detect');
  const f2 = frame('door', 50, 1200);
  t.equal(m.offer(f2), null);
  // f0 came back; f2 (newest in the slot) is still pending: keep newest-wins, do not jump ahead
  m.detected(f0, result(f0), working);
  m.settled(f0);
  t.equal(m.offer(frame('door', 50, 1250)), null, 'a newer frame waits in the slot: no reuse ahead of it');
  const f4 = frame('door', 50, 1300);
  t.equal(m.offer(f4), null);
  m.settled(f4); // failed (engine crash): no result, reference unchanged
  const f5 = frame('door', 50, 1400);
  const r = m.offer(f5);
  t.ok(r, 'nothing pending any more: reused');
  t.equal(r!.result.reusedFrom, f0.seq, 'from the last frame that really was detected');
  t.equal(m.reusedCount('door'), 1);
});

t.test('refresh after maxReuseSec, reset after a camera restart', async (t) => {
  const m = new MotionReuse();
  m.add(cam('door', { maxReuseSec: 1 }));
  const f0 = frame('door', 80, 10_000);
  m.offer(f0);
  m.detected(f0, result(f0, 'mask'), working);
  m.settled(f0);
  t.ok(m.offer(frame('door', 80, 10_900)));
  t.equal(m.offer(frame('door', 80, 11_000)), null, '1 s after the detected frame: detect again');
  const m2 = new MotionReuse();
  m2.add(cam('door', {}));
  const g0 = frame('door', 80, 0);
  m2.offer(g0);
  m2.detected(g0, result(g0), working);
  m2.settled(g0);
  m2.reset('door');
  t.equal(m2.offer(frame('door', 80, 100)), null, 'after a restart the next frame is detected');
});

t.test('cameras without motion.enabled, or in classify mode, pass through', async (t) => {
  const m = new MotionReuse();
  m.add(cam('plain'));
  m.add(cam('off', { enabled: false }));
  m.add(cam('cls', {}, 'classify'));
  for (const id of ['plain', 'off', 'cls']) {
    const f = frame(id, 10, 0);
    t.equal(m.offer(f), null);
    m.detected(f, result(f), working);
    m.settled(f);
    t.equal(m.offer(frame(id, 10, 100)), null, `${id}: every frame to the engine`);
    t.equal(m.reusedCount(id), 0);
  }
});
