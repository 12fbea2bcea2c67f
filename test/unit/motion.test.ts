// Motion gating (pipelines/motion.ts): sampled luma thumbnails, changed fraction, the per-camera gate.
import t from 'tap';
import { changedFraction, lumaThumbnail, MotionGate, MOTION_DEFAULTS, motionProblems, thumbSize } from '../../pipelines/motion.js';

/** A packed RGB24 frame whose pixel (x, y) is px(x, y). */
function frame(w: number, h: number, px: (x: number, y: number) => [number, number, number]): Uint8Array {
  const d = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [r, g, b] = px(x, y);
      d.set([r, g, b], (y * w + x) * 3);
    }
  return d;
}
const gray = (w: number, h: number, v: number) => new Uint8Array(w * h * 3).fill(v);
/** Deterministic noise in [-a, a] (LCG), per pixel and frame. */
function noisy(base: Uint8Array, a: number, seed: number): Uint8Array {
  let s = seed >>> 0;
  const out = new Uint8Array(base.length);
  for (let i = 0; i < base.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = Math.max(0, Math.min(255, base[i] + Math.round(((s / 2 ** 32) * 2 - 1) * a)));
  }
  return out;
}

t.test('thumbnail size: 64 columns, aspect kept', async (t) => {
  t.same(thumbSize(1280, 720), { cols: 64, rows: 36 });
  t.same(thumbSize(640, 480), { cols: 64, rows: 48 });
  t.same(thumbSize(1920, 1080, 80), { cols: 80, rows: 45 });
  t.same(thumbSize(32, 16), { cols: 32, rows: 16 }, 'never more cells than pixels');
  t.same(thumbSize(1280, 8), { cols: 64, rows: 1 }, 'at least one row');
});

t.test('luma of uniform frames (BT.601 weights 77/150/29)', async (t) => {
  t.same([...lumaThumbnail(gray(1280, 720, 0), 1280, 720)].every((v) => v === 0), true);
  const white = lumaThumbnail(gray(1280, 720, 255), 1280, 720);
  t.equal(white.length, 64 * 36);
  t.ok(white.every((v) => v === 255), 'white is 255');
  t.ok(lumaThumbnail(gray(640, 480, 128), 640, 480).every((v) => v === 128), 'gray 128 is 128');
  t.equal(lumaThumbnail(frame(64, 36, () => [255, 0, 0]), 64, 36)[0], 77, 'red');
  t.equal(lumaThumbnail(frame(64, 36, () => [0, 255, 0]), 64, 36)[0], 149, 'green');
  t.equal(lumaThumbnail(frame(64, 36, () => [0, 0, 255]), 64, 36)[0], 29, 'blue');
});

t.test('thumbnail samples 4 pixels per cell, at 1/4 and 3/4 of the cell', async (t) => {
  // 1280x720 → cells of 20x20: cell (0, 0) samples (5,5), (15,5), (5,15), (15,15)
  const one = (px: number, py: number) => frame(1280, 720, (x, y) => (x === px && y === py ? [255, 255, 255] : [0, 0, 0]));
  const a = lumaThumbnail(one(5, 5), 1280, 720);
  t.equal(a[0], 64, 'one white sample of 4: 255/4 rounded');
  t.equal(a.reduce((s, v) => s + v, 0), 64, 'no other cell changed');
  t.equal(lumaThumbnail(one(15, 15), 1280, 720)[0], 64);
  const b = lumaThumbnail(one(6, 5), 1280, 720);
  t.equal(b.reduce((s, v) => s + v, 0), 0, 'a pixel between samples is not seen');
  // cell (63, 35) is x 1260..1279, y 700..719: samples at x 1265/1275, y 705/715
  const last = lumaThumbnail(one(1275, 715), 1280, 720);
  t.equal(last[35 * 64 + 63], 64);
  // gradient: the cell value is the mean of its samples
  const g = lumaThumbnail(frame(1280, 720, (x) => [x % 256, x % 256, x % 256]), 1280, 720);
  t.equal(g[0], 10, 'samples x=5 and x=15: mean 10');
  t.equal(g[1], 30, 'cell 1: x=25 and x=35');
});

t.test('thumbnail reads only the sampled bytes of a 720p frame', async (t) => {
  const data = gray(1280, 720, 100);
  const touched = new Set<number>();
  let reads = 0;
  const spy = new Proxy(data, {
    get(target, key, recv) {
      if (typeof key === 'string' && /^\d+$/.test(key)) {
        reads++;
        touched.add(Number(key));
        return target[Number(key)];
      }
      const v = Reflect.get(target, key, target);
      void recv;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const th = lumaThumbnail(spy, 1280, 720);
  t.ok(th.every((v) => v === 100));
  t.equal(reads, 64 * 36 * 4 * 3, '4 RGB samples per cell');
  t.equal(touched.size, 64 * 36 * 4 * 3, 'each read once');
  t.ok(reads / data.length < 0.011, `${reads} of ${data.length} bytes (${((reads / data.length) * 100).toFixed(2)} %)`);
});

t.test('bad frames are refused', async (t) => {
  t.throws(() => lumaThumbnail(new Uint8Array(10), 1280, 720), /10 bytes, 1280x720 RGB24 needs 2764800/);
  t.throws(() => lumaThumbnail(new Uint8Array(12), 0, 4), /bad frame size/);
  t.throws(() => lumaThumbnail(new Uint8Array(12), 1.5, 2), /bad frame size/);
});

t.test('changed fraction: cells whose |Δ| exceeds the threshold', async (t) => {
  const a = new Uint8Array([100, 100, 100, 100, 100, 100, 100, 100, 100, 100]);
  const b = new Uint8Array([121, 120, 70, 100, 0, 100, 100, 100, 79, 80]);
  t.equal(changedFraction(a, b, 20), 0.4, '121 (+21), 70 (-30), 0 (-100), 79 (-21); +20 and -20 are not changes');
  t.equal(changedFraction(b, a, 20), 0.4, 'symmetric');
  t.equal(changedFraction(a, b, 0), 0.6);
  t.equal(changedFraction(a, a, 0), 0);
  t.equal(changedFraction(a, b, 254), 0);
  t.equal(changedFraction(a, new Uint8Array(9), 20), 1, 'different sizes: everything changed');
  t.equal(changedFraction(new Uint8Array(0), new Uint8Array(0), 20), 1);
});

const W = 320, H = 180; // 64 x 36 cells of 5x5 pixels
/** base with a bright square of w x h pixels at (x, y). */
const withBox = (base: Uint8Array, x: number, y: number, w: number, h: number, v = 250) => {
  const d = base.slice();
  for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) d.fill(v, (yy * W + xx) * 3, (yy * W + xx) * 3 + 3);
  return d;
};

t.test('gate: first frame detects, a still scene is reused, noise is ignored', async (t) => {
  const g = new MotionGate({ ...MOTION_DEFAULTS });
  const bg = frame(W, H, (x, y) => [(x * 3) % 200, (y * 5) % 200, ((x + y) * 7) % 200]);
  const s0 = g.check(bg, W, H, 0);
  t.match(s0, { decision: 'detect', reason: 'first', changed: 1, width: W, height: H });
  t.equal(s0.thumb.length, 64 * 36);
  t.equal(g.decide(bg, W, H, 100), 'detect', 'still no reference: nothing was detected yet');
  g.detected(s0, 0);
  t.ok(g.hasReference);
  t.match(g.check(bg, W, H, 100), { decision: 'reuse', reason: 'still', changed: 0 });
  // per-pixel noise of ±12 (a noisy sensor): the 4-sample cell mean stays well within 20
  for (let i = 1; i <= 15; i++) {
    const s = g.check(noisy(bg, 12, i), W, H, i * 100);
    t.equal(s.decision, 'reuse', `noisy frame ${i} reused (changed ${s.changed})`);
  }
});

t.test('gate: a change over areaThreshold detects, a smaller one is reused', async (t) => {
  const g = new MotionGate({ pixelThreshold: 20, areaThreshold: 0.005, maxReuseSec: 2 });
  const bg = gray(W, H, 60);
  g.detected(g.check(bg, W, H, 0), 0);
  // 2304 cells; 0.005 = 11.52 cells. A 15x15 px square at a cell corner covers 3x3 = 9 cells' samples
  const small = g.check(withBox(bg, 0, 0, 15, 15), W, H, 100);
  t.equal(small.changed, 9 / 2304);
  t.equal(small.decision, 'reuse', '9 cells (0.39 %) is under 0.5 %');
  const big = g.check(withBox(bg, 0, 0, 20, 15), W, H, 200);
  t.equal(big.changed, 12 / 2304);
  t.match(big, { decision: 'detect', reason: 'motion' }, '12 cells (0.52 %) is over 0.5 %');
  const dim = g.check(withBox(bg, 0, 0, 100, 100, 80), W, H, 300);
  t.equal(dim.changed, 0, 'a change of exactly 20 is not over pixelThreshold 20');
  t.equal(dim.decision, 'reuse');
});

t.test('gate: the reference is the last DETECTED frame, so slow drift accumulates', async (t) => {
  const g = new MotionGate({ pixelThreshold: 20, areaThreshold: 0.005, maxReuseSec: 1000 });
  g.detected(g.check(gray(W, H, 100), W, H, 0), 0);
  // +5 per frame: every frame is within 5 of the one before, but the 5th is 25 from the reference
  const got = [1, 2, 3, 4, 5].map((i) => g.check(gray(W, H, 100 + 5 * i), W, H, i * 100));
  t.same(got.map((s) => s.decision), ['reuse', 'reuse', 'reuse', 'reuse', 'detect']);
  t.same(got.map((s) => s.changed), [0, 0, 0, 0, 1]);
  // a frame that was decided "detect" but never detected (dropped, failed) does not become the reference
  t.equal(g.decide(gray(W, H, 126), W, H, 600), 'detect', 'still against the old reference');
  g.detected(got[4], 500);
  t.equal(g.decide(gray(W, H, 126), W, H, 600), 'reuse', 'against the new one');
});

t.test('gate: refresh after maxReuseSec even when nothing moves', async (t) => {
  const g = new MotionGate({ pixelThreshold: 20, areaThreshold: 0.005, maxReuseSec: 2 });
  const bg = gray(W, H, 90);
  g.detected(g.check(bg, W, H, 10_000), 10_000);
  t.equal(g.decide(bg, W, H, 11_999), 'reuse');
  t.match(g.check(bg, W, H, 12_000), { decision: 'detect', reason: 'refresh', changed: 0 });
  t.equal(g.decide(bg, W, H, 12_100), 'detect', 'until a detection comes back, every frame asks for one');
  g.detected(g.check(bg, W, H, 12_100), 12_100);
  t.equal(g.decide(bg, W, H, 14_099), 'reuse', 'the next refresh is 2 s after that detection');
  t.equal(g.decide(bg, W, H, 14_100), 'detect');
});

t.test('gate: reset and a new frame size start over', async (t) => {
  const g = new MotionGate({ ...MOTION_DEFAULTS });
  const bg = gray(W, H, 90);
  g.detected(g.check(bg, W, H, 0), 0);
  t.equal(g.decide(bg, W, H, 100), 'reuse');
  t.match(g.check(gray(640, 360, 90), 640, 360, 200), { decision: 'detect', reason: 'first' }, 'resolution change');
  g.reset();
  t.notOk(g.hasReference);
  t.match(g.check(bg, W, H, 300), { decision: 'detect', reason: 'first' });
});

t.test('options are checked', async (t) => {
  t.same(motionProblems({ ...MOTION_DEFAULTS }), []);
  t.same(motionProblems({ pixelThreshold: 255, areaThreshold: 1, maxReuseSec: 0, columns: 0 }).length, 4);
  t.throws(() => new MotionGate({ pixelThreshold: 2.5, areaThreshold: 0.1, maxReuseSec: 1 }), /pixelThreshold must be an integer 0..254, got 2.5/);
  t.throws(() => new MotionGate({ pixelThreshold: 20, areaThreshold: -0.1, maxReuseSec: 1 }), /areaThreshold/);
  t.throws(() => new MotionGate({ pixelThreshold: 20, areaThreshold: 0.1, maxReuseSec: -1 }), /maxReuseSec must be a number > 0, got -1/);
});
