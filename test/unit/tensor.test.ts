import t from 'tap';
import { toTensor } from '../../models/preprocess.js';
import { letterbox } from '../../pipelines/pre/tensor.js';
import { softmax, classify } from '../../models/classify.js';

// 2x1 image: pixel0 = (0, 127.5-ish, 255), pixel1 = (255, 0, 51)
const rgb = Uint8Array.from([0, 128, 255, 255, 0, 51]);
const mobilenet = { scale: 1 / 127.5, mean: [1, 1, 1] as [number, number, number], std: [1, 1, 1] as [number, number, number] };

t.test('NCHW RGB with x/127.5 - 1 (MobileNet)', async (t) => {
  const x = toTensor(rgb, { width: 2, height: 1, layout: 'NCHW', colorOrder: 'RGB' }, mobilenet);
  // hand-computed: R plane [0, 255], G plane [128, 0], B plane [255, 51]
  const want = [-1, 1, 128 / 127.5 - 1, -1, 1, 51 / 127.5 - 1];
  t.equal(x.length, 6);
  want.forEach((w, i) => t.ok(Math.abs(x[i] - w) < 1e-6, `element ${i}: ${x[i]} vs ${w}`));
});

t.test('NHWC BGR with mean/std (UltraFace style (p-127)/128)', async (t) => {
  const pre = { scale: 1, mean: [127, 127, 127] as [number, number, number], std: [128, 128, 128] as [number, number, number] };
  const x = toTensor(rgb, { width: 2, height: 1, layout: 'NHWC', colorOrder: 'BGR' }, pre);
  const want = [(255 - 127) / 128, (128 - 127) / 128, (0 - 127) / 128, (51 - 127) / 128, (0 - 127) / 128, (255 - 127) / 128];
  want.forEach((w, i) => t.ok(Math.abs(x[i] - w) < 1e-6, `element ${i}: ${x[i]} vs ${w}`));
});

t.test('per-channel mean and std', async (t) => {
  const pre = { scale: 1 / 255, mean: [0.485, 0.456, 0.406] as [number, number, number], std: [0.229, 0.224, 0.225] as [number, number, number] };
  const x = toTensor(Uint8Array.from([255, 0, 255]), { width: 1, height: 1, layout: 'NCHW', colorOrder: 'RGB' }, pre);
  t.ok(Math.abs(x[0] - (1 - 0.485) / 0.229) < 1e-5);
  t.ok(Math.abs(x[1] - (0 - 0.456) / 0.224) < 1e-5);
  t.ok(Math.abs(x[2] - (1 - 0.406) / 0.225) < 1e-5);
});

t.test('a frame of the wrong size is refused', async (t) => {
  t.throws(() => toTensor(new Uint8Array(5), { width: 2, height: 1, layout: 'NCHW', colorOrder: 'RGB' }, mobilenet), /5 bytes, expected 6 for 2x1/);
});

t.test('letterbox geometry', async (t) => {
  t.same(letterbox(640, 480, 128, 128), { width: 128, height: 96, x: 0, y: 16, scale: 0.2 });
  t.same(letterbox(480, 640, 128, 128), { width: 96, height: 128, x: 16, y: 0, scale: 0.2 });
  t.same(letterbox(100, 100, 128, 128), { width: 128, height: 128, x: 0, y: 0, scale: 1.28 });
  t.throws(() => letterbox(0, 10, 128, 128), RangeError);
});

t.test('softmax is stable and sums to 1', async (t) => {
  const p = softmax([1000, 1000]);
  t.same(p, [0.5, 0.5]);
  const q = softmax([0, Math.log(3)]);
  t.ok(Math.abs(q[0] - 0.25) < 1e-12 && Math.abs(q[1] - 0.75) < 1e-12);
});

t.test('classify picks the top label from logits or probabilities', async (t) => {
  const c = classify([0, Math.log(3)], ['mask', 'no_mask'], 'logits');
  t.equal(c.label, 'no_mask');
  t.equal(c.score, 0.75);
  t.same(c.scores, { mask: 0.25, no_mask: 0.75 });
  t.equal(classify([0.9, 0.1], ['mask', 'no_mask'], 'probabilities').label, 'mask');
  t.throws(() => classify([1, 2, 3], ['a', 'b'], 'logits'), /3 values for 2 labels/);
});

t.test('boxes map back from the letterboxed working frame to source pixels', async (t) => {
  const { toSourceBox } = await import('../../pipelines/pre/tensor.js');
  // 1920x1080 into 1280x720: same aspect, scale 2/3, no padding
  t.same(toSourceBox([100, 50, 200, 100], 1920, 1080, 1280, 720), [150, 75, 300, 150]);
  // 640x480 (4:3) into 1280x720: scaled to 960x720, 160 px bars left and right
  t.same(toSourceBox([160, 0, 960, 720], 640, 480, 1280, 720), [0, 0, 640, 480]);
  t.same(toSourceBox([400, 360, 120, 90], 640, 480, 1280, 720), [160, 240, 80, 60]);
  // a box reaching into the bars is clipped to the picture
  t.same(toSourceBox([100, 10, 100, 50], 640, 480, 1280, 720), [0, 6.7, 26.7, 33.3]);
  // same size: unchanged
  t.same(toSourceBox([10.5, 20, 30, 40], 1280, 720, 1280, 720), [10.5, 20, 30, 40]);
});
