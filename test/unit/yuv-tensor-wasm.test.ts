// The WebAssembly converter (pipelines/pre/yuv-tensor-wasm.ts, D149) against the plain JS pass it
// replaces in the worker (i420ToTensor): the same tensor (to a float's last bit: the kernels scale in
// 32-bit floats) for every frame size the JS pass has a path for (the exact 2:1 shrink, any other
// scale, odd sizes, enlarging), stretch and letterbox, RGB and BGR; the fallback for NHWC; the
// committed module matches its WebAssembly text.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import sharp from 'sharp';
import { i420ToTensor, type TensorSpec } from '../../pipelines/pre/yuv-tensor.js';
import { I420TensorConverter, simdAvailable } from '../../pipelines/pre/yuv-tensor-wasm.js';
import { frameBytes, rgbToI420 } from '../../pipelines/pre/yuv.js';
import type { ResampleTarget } from '../../pipelines/pre/resample.js';

const SCENE = new URL('../fixtures/scenes/linzaer-masked-img5.jpg', import.meta.url).pathname;
const BUILD = new URL('../../pipelines/pre/yuv-kernels-build.mjs', import.meta.url).pathname;

/** Noise frames: every level, no flat areas to hide a wrong tap. */
function noise(w: number, h: number, seed: number): Uint8Array {
  const f = new Uint8Array(frameBytes('i420', w, h));
  for (let i = 0; i < f.length; i++) f[i] = (Math.imul(i + seed, 2654435761) >>> 24) & 255;
  return f;
}

function largestDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

t.test('this Node runs the WebAssembly kernels (SIMD)', async (t) => {
  // Node 20's V8 has 128-bit SIMD on x86-64 (SSE4.1) and ARM64: the fallback is for other hosts
  t.equal(simdAvailable(), true);
});

t.test('the same tensor as the JS pass: sizes, fits, colour orders, the manifests\' maths', async (t) => {
  const conv = new I420TensorConverter();
  const specs: TensorSpec[] = [
    { layout: 'NCHW', colorOrder: 'RGB', scale: 1, mean: [127, 127, 127], std: [128, 128, 128] }, // UltraFace
    { layout: 'NCHW', colorOrder: 'BGR', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  ];
  const sizes: [number, number][] = [[1280, 720], [1920, 1080], [640, 480], [1001, 563], [320, 180], [17, 16]];
  for (const [w, h] of sizes)
    for (const fit of ['stretch', 'letterbox'] as const)
      for (const spec of specs) {
        const target: ResampleTarget = { width: 640, height: 480, fit, padColor: [0, 10, 200] };
        const src = noise(w, h, w + h);
        const want = i420ToTensor(src, w, h, target, spec);
        const got = conv.convert(src, w, h, target, spec);
        t.equal(got.length, want.length, `${w}x${h} ${fit} ${spec.colorOrder}: length`);
        t.ok(largestDiff(got, want) < 1e-6, `${w}x${h} ${fit} ${spec.colorOrder}: largest difference ${largestDiff(got, want)}`);
      }
});

t.test('an exact 2:1 shrink across takes chromaHalves (8 blocks a step, then a tail): the JS pass\'s tensor', async (t) => {
  const spec: TensorSpec = { layout: 'NCHW', colorOrder: 'RGB', scale: 1, mean: [127, 127, 127], std: [128, 128, 128] };
  // 320 blocks a row (no tail), 325 (a tail of 5), 329 (a tail of 1)
  for (const [w, tw] of [[1280, 640], [1300, 650], [1316, 658]])
    for (const fit of ['stretch', 'letterbox'] as const) {
      const conv = new I420TensorConverter();
      const target: ResampleTarget = { width: tw, height: 480, fit, padColor: [0, 10, 200] };
      const src = noise(w, 720, w);
      const got = conv.convert(src, w, 720, target, spec);
      t.equal((conv as unknown as { layout: { chromaHalves: boolean } }).layout.chromaHalves, true, `${w} → ${tw} ${fit}: the 2:1 chroma kernel`);
      t.equal(largestDiff(got, i420ToTensor(src, w, 720, target, spec)), 0, `${w} → ${tw} ${fit}: identical`);
    }
  const other = new I420TensorConverter();
  other.convert(noise(1001, 563, 1), 1001, 563, { width: 640, height: 480, fit: 'stretch', padColor: [0, 0, 0] }, spec);
  t.equal((other as unknown as { layout: { chromaHalves: boolean } }).layout.chromaHalves, false, 'any other ratio: the general kernel');
});

t.test('a real scene photo, the detector input the worker makes: identical to the float', async (t) => {
  const W = 1280, H = 720;
  const yuv = rgbToI420(await sharp(SCENE).removeAlpha().resize(W, H, { fit: 'fill' }).raw().toBuffer(), W, H);
  const target: ResampleTarget = { width: 640, height: 480, fit: 'stretch', padColor: [0, 0, 0] };
  const spec: TensorSpec = { layout: 'NCHW', colorOrder: 'RGB', scale: 1, mean: [127, 127, 127], std: [128, 128, 128] };
  // (x − 127) / 128 is exact in 32-bit floats, so here the two agree bit for bit
  t.same(new I420TensorConverter().convert(yuv, W, H, target, spec), i420ToTensor(yuv, W, H, target, spec));
});

t.test('one converter, frames of changing sizes: its memory grows and every result is right', async (t) => {
  const conv = new I420TensorConverter();
  const spec: TensorSpec = { layout: 'NCHW', colorOrder: 'RGB', scale: 1, mean: [127, 127, 127], std: [128, 128, 128] };
  for (const [w, h, tw, th] of [[64, 48, 32, 24], [1920, 1080, 640, 480], [64, 48, 32, 24], [1280, 720, 960, 720]]) {
    const target: ResampleTarget = { width: tw, height: th, fit: 'stretch', padColor: [0, 0, 0] };
    const src = noise(w, h, 7);
    t.ok(largestDiff(conv.convert(src, w, h, target, spec), i420ToTensor(src, w, h, target, spec)) < 1e-6, `${w}x${h} → ${tw}x${th}`);
  }
});

t.test('a layout is kept between frames (D161): the same geometry again, another in between, only the maths changed', async (t) => {
  const conv = new I420TensorConverter();
  const rgb: TensorSpec = { layout: 'NCHW', colorOrder: 'RGB', scale: 1, mean: [127, 127, 127], std: [128, 128, 128] };
  const bgr: TensorSpec = { ...rgb, colorOrder: 'BGR', mean: [100, 110, 120] };
  const box: ResampleTarget = { width: 640, height: 480, fit: 'letterbox', padColor: [0, 10, 200] };
  const grey: ResampleTarget = { ...box, padColor: [128, 128, 128] };
  const steps: [number, number, ResampleTarget, TensorSpec][] = [
    [1280, 720, box, rgb], [1280, 720, box, rgb], [640, 480, box, rgb], [1280, 720, box, rgb],
    [1280, 720, box, bgr], [1280, 720, grey, bgr], [1280, 720, { ...grey, fit: 'stretch' }, bgr], [1280, 720, box, rgb],
  ];
  steps.forEach(([w, h, target, spec], i) => {
    const src = noise(w, h, 100 + i); // new pixels every frame
    const d = largestDiff(conv.convert(src, w, h, target, spec), i420ToTensor(src, w, h, target, spec));
    t.ok(d < 1e-6, `step ${i}: ${w}x${h} ${target.fit} pad ${target.padColor} ${spec.colorOrder}: largest difference ${d}`);
  });
});

t.test('NHWC takes the JS pass, into the converter\'s own buffer', async (t) => {
  const conv = new I420TensorConverter();
  const spec: TensorSpec = { layout: 'NHWC', colorOrder: 'RGB', scale: 1, mean: [127, 127, 127], std: [128, 128, 128] };
  const target: ResampleTarget = { width: 40, height: 30, fit: 'letterbox', padColor: [5, 5, 5] };
  const src = noise(64, 36, 3);
  const first = conv.convert(src, 64, 36, target, spec);
  t.same(first, i420ToTensor(src, 64, 36, target, spec));
  t.equal(conv.convert(src, 64, 36, target, spec), first, 'the same buffer again');
});

t.test('a frame of the wrong length is refused by name', async (t) => {
  const spec: TensorSpec = { layout: 'NCHW', colorOrder: 'RGB', scale: 1, mean: [0, 0, 0], std: [1, 1, 1] };
  const target: ResampleTarget = { width: 8, height: 8, fit: 'stretch', padColor: [0, 0, 0] };
  t.throws(() => new I420TensorConverter().convert(new Uint8Array(100), 16, 16, target, spec), /frame has 100 bytes, expected 384 for 16x16 I420/);
});

t.test('the committed module (yuv-kernels-wasm.ts) is built from yuv-kernels.wat as it stands', async (t) => {
  const out = execFileSync(process.execPath, [BUILD, '--check'], { encoding: 'utf8' });
  t.match(out, /matches/);
});
