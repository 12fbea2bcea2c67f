// The detector input in one pass from I420 planes (pipelines/pre/yuv-tensor.ts) against the two-step
// path it replaces (pre/yuv.ts resample to RGB24, then models/preprocess.ts toTensor): equal on flat
// colour, within a level on average on a real scene photo (chroma is taken once per 2x2 block), the
// layouts, colour orders and letterbox padding of the manifest.
import t from 'tap';
import sharp from 'sharp';
import { i420ToTensor, type TensorSpec } from '../../pipelines/pre/yuv-tensor.js';
import { resampleRegionI420, rgbToI420 } from '../../pipelines/pre/yuv.js';
import { toTensor } from '../../models/preprocess.js';
import type { ResampleTarget } from '../../pipelines/pre/resample.js';

const SCENE = new URL('../fixtures/scenes/linzaer-masked-img5.jpg', import.meta.url).pathname;
const pre = { scale: 1, mean: [127, 127, 127] as [number, number, number], std: [128, 128, 128] as [number, number, number] };

/** The two-step reference: RGB24 at the target size, then the manifest's maths. */
function reference(yuv: Uint8Array, w: number, h: number, target: ResampleTarget, spec: TensorSpec): Float32Array {
  const rgb = resampleRegionI420(yuv, w, h, { left: 0, top: 0, width: w, height: h }, target);
  return toTensor(rgb, { width: target.width, height: target.height, layout: spec.layout, colorOrder: spec.colorOrder }, spec);
}

/** Differences in 8-bit levels (the tensor is (x − 127) / 128). */
function levels(a: Float32Array, b: Float32Array): { max: number; mean: number } {
  let max = 0, sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) * 128;
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / a.length };
}

t.test('a flat colour gives exactly the two-step result, in every layout and colour order', async (t) => {
  const w = 64, h = 36;
  const rgb = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) rgb.set([200, 40, 90], i * 3);
  const yuv = rgbToI420(rgb, w, h);
  for (const layout of ['NCHW', 'NHWC'] as const)
    for (const colorOrder of ['RGB', 'BGR'] as const)
      for (const fit of ['stretch', 'letterbox'] as const) {
        const target: ResampleTarget = { width: 40, height: 40, fit, padColor: [0, 10, 20] };
        const spec = { layout, colorOrder, ...pre };
        t.equal(levels(i420ToTensor(yuv, w, h, target, spec), reference(yuv, w, h, target, spec)).max, 0, `${layout} ${colorOrder} ${fit}`);
      }
});

t.test('a real scene photo at the masked-face detector size: within a level on average, chroma edges aside', async (t) => {
  const W = 1280, H = 720;
  const rgb = await sharp(SCENE).removeAlpha().resize(W, H, { fit: 'fill' }).raw().toBuffer();
  const yuv = rgbToI420(rgb, W, H);
  for (const fit of ['stretch', 'letterbox'] as const) {
    const target: ResampleTarget = { width: 640, height: 480, fit, padColor: [0, 0, 0] };
    const spec: TensorSpec = { layout: 'NCHW', colorOrder: 'RGB', ...pre };
    const out = new Float32Array(640 * 480 * 3).fill(NaN);
    const got = i420ToTensor(yuv, W, H, target, spec, out);
    t.equal(got, out, 'written into the buffer given');
    t.ok(got.every(Number.isFinite), 'every element written (padding included)');
    const d = levels(got, reference(yuv, W, H, target, spec));
    t.ok(d.mean < 1, `${fit}: mean difference ${d.mean.toFixed(3)} levels`);
    t.ok(d.max < 64, `${fit}: largest difference ${d.max.toFixed(1)} levels (at colour edges)`);
  }
});

t.test('a wrong output size or frame length is refused', async (t) => {
  const yuv = new Uint8Array(16 * 16 * 1.5);
  const target: ResampleTarget = { width: 8, height: 8, fit: 'stretch', padColor: [0, 0, 0] };
  t.throws(() => i420ToTensor(yuv, 16, 16, target, { layout: 'NCHW', colorOrder: 'RGB', ...pre }, new Float32Array(10)), /expected 192/);
  t.throws(() => i420ToTensor(yuv.subarray(1), 16, 16, target, { layout: 'NCHW', colorOrder: 'RGB', ...pre }), /expected 384/);
});
