// Detector output decoding and NMS (models/detect.ts), on hand-built outputs.
import t from 'tap';
import { decodeDetections, iou, nms, type Detection } from '../../models/detect.js';

const box = (x1: number, y1: number, x2: number, y2: number, score = 0.9, classIndex = 1): Detection => ({ x1, y1, x2, y2, score, classIndex });

/** Build UltraFace-like outputs: one anchor per entry [score, x1, y1, x2, y2] (normalised). */
function outputs(anchors: number[][]) {
  const scores = new Float32Array(anchors.length * 2);
  const boxes = new Float32Array(anchors.length * 4);
  anchors.forEach(([s, ...b], i) => {
    scores[i * 2] = 1 - s;
    scores[i * 2 + 1] = s;
    boxes.set(b, i * 4);
  });
  return { scores, boxes };
}
const opts = { scoreThreshold: 0.7, iouThreshold: 0.3, frameWidth: 1000, frameHeight: 500 };

t.test('iou', async (t) => {
  t.equal(iou(box(0, 0, 10, 10), box(0, 0, 10, 10)), 1);
  t.equal(iou(box(0, 0, 10, 10), box(10, 0, 20, 10)), 0, 'touching boxes do not overlap');
  t.equal(iou(box(0, 0, 10, 10), box(5, 0, 15, 10)), 50 / 150);
  t.equal(iou(box(0, 0, 0, 10), box(0, 0, 10, 10)), 0, 'empty box');
});

t.test('nms keeps the best of overlapping boxes, per class', async (t) => {
  const kept = nms([box(0, 0, 10, 10, 0.8), box(1, 1, 11, 11, 0.95), box(50, 50, 60, 60, 0.9), box(1, 0, 11, 10, 0.85, 2)], 0.3);
  t.same(kept.map((k) => k.score), [0.95, 0.9, 0.85], 'the 0.8 box is suppressed by the 0.95 one; another class is not');
  t.same(nms([box(0, 0, 10, 10, 0.8), box(6, 0, 16, 10, 0.7)], 0.3).length, 2, 'IoU 0.25 ≤ 0.3: both kept');
  t.same(nms([], 0.3), []);
  t.equal(nms([box(0, 0, 1, 1), box(5, 5, 6, 6), box(9, 9, 10, 10)], 0.3, 2).length, 2, 'maxDetections');
});

t.test('decode: threshold, scaling to the frame, NMS', async (t) => {
  const { scores, boxes } = outputs([
    [0.99, 0.1, 0.2, 0.2, 0.4],
    [0.9, 0.105, 0.2, 0.2, 0.41], // same face, lower score
    [0.5, 0.5, 0.5, 0.6, 0.6], // below threshold
    [0.8, 0.6, 0.1, 0.7, 0.3],
  ]);
  const d = decodeDetections(scores, boxes, 2, opts);
  t.equal(d.length, 2);
  t.ok(Math.abs(d[0].x1 - 100) < 1e-3 && Math.abs(d[0].y1 - 100) < 1e-3 && Math.abs(d[0].x2 - 200) < 1e-3 && Math.abs(d[0].y2 - 200) < 1e-3, `pixels ${JSON.stringify(d[0])}`);
  t.ok(Math.abs(d[0].score - 0.99) < 1e-6);
  t.equal(d[1].classIndex, 1);
});

t.test('decode: no boxes, boxes outside the frame, degenerate and non-finite boxes', async (t) => {
  t.same(decodeDetections(new Float32Array(0), new Float32Array(0), 2, opts), [], 'no anchors');
  const { scores, boxes } = outputs([
    [0.95, -0.1, -0.1, 0.1, 0.2], // partly outside: clipped
    [0.95, 1.2, 0.1, 1.5, 0.3], // wholly right of the frame
    [0.95, 0.3, 0.3, 0.3, 0.5], // zero width
    [0.95, 0.5, 0.5, 0.4, 0.6], // x2 < x1
    [0.95, NaN, 0.1, 0.2, 0.2],
    [NaN, 0.1, 0.1, 0.2, 0.2],
  ]);
  const d = decodeDetections(scores, boxes, 2, opts);
  t.equal(d.length, 1, JSON.stringify(d));
  t.same([d[0].x1, d[0].y1], [0, 0], 'clipped at the frame edge');
  t.ok(Math.abs(d[0].x2 - 100) < 1e-3 && Math.abs(d[0].y2 - 100) < 1e-3);
});

t.test('decode: shape mismatches are errors, not crashes later', async (t) => {
  t.throws(() => decodeDetections(new Float32Array(6), new Float32Array(8), 2, opts), /boxes has 8 values for 3 anchors/);
  t.throws(() => decodeDetections(new Float32Array(5), new Float32Array(8), 2, opts), /not a multiple/);
  t.throws(() => decodeDetections(new Float32Array(4), new Float32Array(16), 1, opts), /at least 2 classes/);
});

t.test('decode: candidate cap keeps the best scores', async (t) => {
  const anchors = Array.from({ length: 50 }, (_, i) => [0.71 + i * 0.005, (i % 10) / 10, Math.floor(i / 10) / 5, (i % 10) / 10 + 0.05, Math.floor(i / 10) / 5 + 0.1]);
  const { scores, boxes } = outputs(anchors);
  const d = decodeDetections(scores, boxes, 2, { ...opts, maxCandidates: 5 });
  t.equal(d.length, 5);
  t.ok(d.every((x) => x.score > 0.71 + 44 * 0.005), 'the 5 best');
});

t.test('nms across classes: one box per face for a face / masked_face detector', async (t) => {
  const dets = [box(0, 0, 10, 10, 0.8, 1), box(1, 0, 11, 10, 0.9, 2), box(50, 50, 60, 60, 0.7, 1)];
  t.equal(nms(dets, 0.3).length, 3, 'per class: both classes keep their box');
  t.same(nms(dets, 0.3, Infinity, true).map((d) => [d.score, d.classIndex]), [[0.9, 2], [0.7, 1]], 'class-agnostic: the better class wins');
});
