// The face crop converter (pipelines/pre/yuv-crop-wasm.ts, D159) against the JS pair it replaces in
// the worker (resampleRegionI420, then toTensor): the same tensor, to a float's last bit, for crops at
// the frame's edges and inside it, odd places and sizes, enlarged and shrunk, stretch and letterbox,
// RGB and BGR, the bundled classifier's maths; a real face from a scene photo; the NHWC fallback; bad
// input refused by name.
import t from 'tap';
import sharp from 'sharp';
import { toTensor } from '../../models/preprocess.js';
import { I420CropConverter } from '../../pipelines/pre/yuv-crop-wasm.js';
import { frameBytes, resampleRegionI420, rgbToI420 } from '../../pipelines/pre/yuv.js';
import type { Region, ResampleTarget } from '../../pipelines/pre/resample.js';
import type { TensorSpec } from '../../pipelines/pre/yuv-tensor.js';

const SCENE = new URL('../fixtures/scenes/linzaer-masked-img5.jpg', import.meta.url).pathname;

function noise(w: number, h: number, seed: number): Uint8Array {
  const f = new Uint8Array(frameBytes('i420', w, h));
  for (let i = 0; i < f.length; i++) f[i] = (Math.imul(i + seed, 2654435761) >>> 24) & 255;
  return f;
}

/** What the worker computed before D159: the crop as RGB24, then the manifest's maths. */
function jsPair(src: Uint8Array, w: number, h: number, region: Region, target: ResampleTarget, spec: TensorSpec): Float32Array {
  const px = resampleRegionI420(src, w, h, region, target);
  return toTensor(px, { width: target.width, height: target.height, layout: spec.layout, colorOrder: spec.colorOrder }, { scale: spec.scale, mean: [...spec.mean], std: [...spec.std] });
}

function largestDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const CLASSIFIER: TensorSpec = { layout: 'NCHW', colorOrder: 'RGB', scale: 1 / 127.5, mean: [1, 1, 1], std: [1, 1, 1] };
const IMAGENET: TensorSpec = { layout: 'NCHW', colorOrder: 'BGR', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

t.test('the same tensor as the JS pair: places, sizes, fits, colour orders', async (t) => {
  const conv = new I420CropConverter();
  const frames: [number, number][] = [[1280, 720], [1001, 563], [33, 17]];
  for (const [w, h] of frames) {
    const src = noise(w, h, w * 3 + h);
    const regions: Region[] = [
      { left: 0, top: 0, width: Math.min(w, 60), height: Math.min(h, 70) }, // top-left corner
      { left: w - Math.min(w, 41), top: h - 13, width: Math.min(w, 41), height: 13 }, // bottom-right corner, odd sizes
      { left: 1, top: 1, width: w - 2, height: h - 2 }, // nearly the whole frame (shrunk)
      { left: Math.floor(w / 3) | 1, top: Math.floor(h / 3) | 1, width: 7, height: 9 }, // tiny, odd place (enlarged)
      { left: 0, top: 0, width: w, height: h },
    ];
    for (const region of regions)
      for (const fit of ['stretch', 'letterbox'] as const)
        for (const spec of [CLASSIFIER, IMAGENET]) {
          const target: ResampleTarget = { width: 160, height: 160, fit, padColor: [0, 10, 200] };
          const want = jsPair(src, w, h, region, target, spec);
          const got = conv.convert(src, w, h, region, target, spec, new Float32Array(want.length));
          const d = largestDiff(got, want);
          t.ok(d < 1e-6, `${w}x${h} ${JSON.stringify(region)} ${fit} ${spec.colorOrder}: largest difference ${d}`);
        }
  }
});

t.test('a face of a real scene photo, as the worker crops it for the bundled classifier', async (t) => {
  const W = 1280, H = 720;
  const yuv = rgbToI420(await sharp(SCENE).removeAlpha().resize(W, H, { fit: 'fill' }).raw().toBuffer(), W, H);
  const target: ResampleTarget = { width: 160, height: 160, fit: 'letterbox', padColor: [0, 0, 0] };
  const want = jsPair(yuv, W, H, { left: 517, top: 203, width: 131, height: 158 }, target, CLASSIFIER);
  const into = new Float32Array(want.length * 3);
  // written into its place in a batch, nothing around it touched
  new I420CropConverter().convert(yuv, W, H, { left: 517, top: 203, width: 131, height: 158 }, target, CLASSIFIER, into.subarray(want.length, 2 * want.length));
  t.ok(largestDiff(into.subarray(want.length, 2 * want.length), want) < 1e-6);
  t.ok(into.subarray(0, want.length).every((v) => v === 0) && into.subarray(2 * want.length).every((v) => v === 0), 'the batch around it untouched');
});

t.test('one converter, crops of changing sizes: its memory grows and every result is right', async (t) => {
  const conv = new I420CropConverter();
  const src = noise(1920, 1080, 11);
  for (const [rw, rh, tw] of [[20, 20, 32], [1900, 1000, 224], [20, 20, 32], [300, 500, 160]]) {
    const target: ResampleTarget = { width: tw, height: tw, fit: 'letterbox', padColor: [0, 0, 0] };
    const region = { left: 10, top: 10, width: rw, height: rh };
    const want = jsPair(src, 1920, 1080, region, target, CLASSIFIER);
    t.ok(largestDiff(conv.convert(src, 1920, 1080, region, target, CLASSIFIER, new Float32Array(want.length)), want) < 1e-6, `${rw}x${rh} → ${tw}`);
  }
});

t.test('NHWC takes the JS pair', async (t) => {
  const spec: TensorSpec = { ...CLASSIFIER, layout: 'NHWC' };
  const target: ResampleTarget = { width: 40, height: 30, fit: 'letterbox', padColor: [5, 5, 5] };
  const src = noise(64, 36, 3);
  const region = { left: 3, top: 5, width: 30, height: 20 };
  t.same(new I420CropConverter().convert(src, 64, 36, region, target, spec, new Float32Array(40 * 30 * 3)), jsPair(src, 64, 36, region, target, spec));
});

t.test('bad input is refused by name', async (t) => {
  const conv = new I420CropConverter();
  const target: ResampleTarget = { width: 8, height: 8, fit: 'stretch', padColor: [0, 0, 0] };
  const out = new Float32Array(8 * 8 * 3);
  t.throws(() => conv.convert(new Uint8Array(100), 16, 16, { left: 0, top: 0, width: 8, height: 8 }, target, CLASSIFIER, out), /frame has 100 bytes, expected 384 for 16x16 I420/);
  t.throws(() => conv.convert(noise(16, 16, 1), 16, 16, { left: 10, top: 0, width: 8, height: 8 }, target, CLASSIFIER, out), /region 10,0 8x8 is not inside the 16x16 frame/);
  t.throws(() => conv.convert(noise(16, 16, 1), 16, 16, { left: 0, top: 0, width: 8, height: 8 }, target, CLASSIFIER, new Float32Array(10)), /output tensor has 10 elements, expected 192/);
});
