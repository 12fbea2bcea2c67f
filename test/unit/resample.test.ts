// Bilinear resampling of RGB24 regions: exact values on gradients, regions, letterbox padding.
import t from 'tap';
import { resampleRegion } from '../../pipelines/pre/resample.js';

/** A w x h frame where R = 10*x, G = 10*y, B = 7 everywhere. */
function gradient(w: number, h: number): Uint8Array {
  const f = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) f.set([10 * x, 10 * y, 7], (y * w + x) * 3);
  return f;
}
const px = (img: Uint8Array, w: number, x: number, y: number) => [...img.subarray((y * w + x) * 3, (y * w + x) * 3 + 3)];
const stretch = (width: number, height: number) => ({ width, height, fit: 'stretch' as const, padColor: [0, 0, 0] as const });

t.test('same size is a copy', async (t) => {
  const f = gradient(6, 4);
  t.same([...resampleRegion(f, 6, 4, { left: 0, top: 0, width: 6, height: 4 }, stretch(6, 4))], [...f]);
});

t.test('halving a gradient averages neighbour pairs (pixel centres aligned)', async (t) => {
  const f = gradient(8, 8);
  const out = resampleRegion(f, 8, 8, { left: 0, top: 0, width: 8, height: 8 }, stretch(4, 4));
  // output x maps to source 2x + 0.5: the mean of columns 2x and 2x+1 → R = 20x + 5
  t.same(px(out, 4, 0, 0), [5, 5, 7]);
  t.same(px(out, 4, 3, 2), [65, 45, 7]);
});

t.test('upscaling interpolates and repeats the edge pixels', async (t) => {
  const f = gradient(2, 1);
  const out = resampleRegion(f, 2, 1, { left: 0, top: 0, width: 2, height: 1 }, stretch(4, 1));
  // centres of 4 outputs over 2 inputs: s = -0.25, 0.25, 0.75, 1.25 → R 0, 2.5, 7.5, 10
  t.same([0, 1, 2, 3].map((x) => px(out, 4, x, 0)[0]), [0, 3, 8, 10]);
});

t.test('a region is read on its own: no pixel outside it leaks in', async (t) => {
  const f = gradient(10, 10);
  const out = resampleRegion(f, 10, 10, { left: 4, top: 6, width: 2, height: 2 }, stretch(4, 4));
  const rs = new Set<number>(), gs = new Set<number>();
  for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) (rs.add(px(out, 4, x, y)[0]), gs.add(px(out, 4, x, y)[1]));
  t.same([Math.min(...rs), Math.max(...rs)], [40, 50], 'R only between columns 4 and 5');
  t.same([Math.min(...gs), Math.max(...gs)], [60, 70], 'G only between rows 6 and 7');
});

t.test('letterbox: a wide region is centred with pad rows above and below', async (t) => {
  const f = new Uint8Array(8 * 4 * 3).fill(200);
  const out = resampleRegion(f, 8, 4, { left: 0, top: 0, width: 8, height: 4 }, { width: 4, height: 4, fit: 'letterbox', padColor: [1, 2, 3] });
  t.same(px(out, 4, 0, 0), [1, 2, 3], 'top pad');
  t.same(px(out, 4, 3, 3), [1, 2, 3], 'bottom pad');
  t.same(px(out, 4, 0, 1), [200, 200, 200], 'content rows 1..2');
  t.same(px(out, 4, 3, 2), [200, 200, 200]);
});

t.test('bad regions and sizes are refused with the numbers', async (t) => {
  const f = gradient(4, 4);
  t.throws(() => resampleRegion(f, 4, 4, { left: 2, top: 0, width: 3, height: 2 }, stretch(2, 2)), /region 2,0 3x2 is not inside the 4x4 frame/);
  t.throws(() => resampleRegion(f, 5, 4, { left: 0, top: 0, width: 1, height: 1 }, stretch(2, 2)), /frame has 48 bytes, expected 60/);
  t.throws(() => resampleRegion(f, 4, 4, { left: 0, top: 0, width: 4, height: 4 }, stretch(2, 2), new Uint8Array(3)), /output has 3 bytes, expected 12/);
});
