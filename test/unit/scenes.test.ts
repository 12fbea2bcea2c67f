// Scene ground truth and scoring (models/scenes.ts): parsing, IoU matching, per-class counts.
import t from 'tap';
import { boxIou, formatSceneReport, matchImage, parseTruth, sceneReport, type Truth } from '../../models/scenes.js';

const truth: Truth = parseTruth({
  format: 'mobilenet-edge/scenes@1',
  images: [
    { file: 'a.jpg', label: 'mask', faces: [{ box: [0, 0, 50, 50], label: 'mask' }, { box: [100, 0, 30, 30], label: 'mask' }], ignore: [[300, 300, 10, 10]] },
    { file: 'b.jpg', label: 'no_mask', faces: [{ box: [0, 0, 100, 100], label: 'no_mask' }] },
  ],
});

t.test('parseTruth names every problem', async (t) => {
  t.throws(() => parseTruth({ images: [] }), /format: expected mobilenet-edge\/scenes@1[\s\S]*images: empty/);
  t.throws(() => parseTruth({ format: 'mobilenet-edge/scenes@1', images: [{ file: '../x.jpg', faces: [] }] }), /images\[0\]\.file/);
  t.throws(() => parseTruth({ format: 'mobilenet-edge/scenes@1', images: [{ file: 'x.jpg', faces: [{ box: [0, 0, 0, 5], label: 'mask' }] }] }), /images\[0\]\.faces\[0\]/);
  t.same(truth.images[1].ignore, [], 'ignore defaults to none');
});

t.test('boxIou on [x, y, w, h]', async (t) => {
  t.equal(boxIou([0, 0, 10, 10], [0, 0, 10, 10]), 1);
  t.equal(boxIou([0, 0, 10, 10], [5, 0, 10, 10]), 50 / 150);
  t.equal(boxIou([0, 0, 10, 10], [10, 0, 10, 10]), 0);
});

t.test('matchImage: one-to-one by best IoU; ignored regions and second boxes are not false', async (t) => {
  const m = matchImage(truth.images[0], [
    { box: [1, 1, 50, 50], label: 'mask' }, // face 0 (IoU 0.92)
    { box: [5, 5, 50, 50], label: 'no_mask' }, // a second box on face 0 (IoU 0.68): not matched, not false
    { box: [300, 300, 11, 11], label: 'no_mask' }, // in an ignore region
    { box: [500, 0, 20, 20], label: 'no_mask' }, // false
  ]);
  t.same(m.matchOf, [0, -1], 'face 0 takes the better box; face 1 is missed');
  t.same(m.falseBoxes, [3]);
  t.same(matchImage(truth.images[0], [{ box: [20, 20, 50, 50], label: 'mask' }], 0.4).matchOf, [-1, -1], 'IoU 0.22 is below 0.4');
});

t.test('sceneReport counts found, right and false per class and size, and frame labels', async (t) => {
  const r = sceneReport(truth, [
    { faces: [{ box: [0, 0, 50, 50], label: 'mask' }, { box: [100, 0, 30, 30], label: 'no_mask' }, { box: [600, 0, 40, 40], label: 'no_mask' }], frameLabel: 'no_mask' },
    { faces: [{ box: [0, 0, 100, 100], label: 'no_mask' }], frameLabel: 'no_mask' },
  ]);
  t.same(r.perClass, { mask: { faces: 2, found: 2, right: 1 }, no_mask: { faces: 1, found: 1, right: 1 } });
  t.same(r.perClassLarge, { mask: { faces: 1, found: 1, right: 1 }, no_mask: { faces: 1, found: 1, right: 1 } }, 'the 30 px face is below 40 px');
  t.same(r.bySize.find((b) => b.from === 24)!.perClass, { mask: { faces: 1, found: 1, right: 0 } });
  t.equal(r.falseBoxes, 1);
  t.same(r.falseByLabel, { no_mask: 1 });
  t.same(r.frames.map((f) => f.right), [false, true], 'a masked picture read as no_mask is a wrong frame');
  const text = formatSceneReport(r).join('\n');
  t.match(text, /mask\s+2\s+2 \(100\.0%\)\s+1 \(50\.0%\)/);
  t.match(text, /false boxes: 1 \(1 read as no_mask\)/);
  t.match(text, /✗ a\.jpg: mask → no_mask/);
});
