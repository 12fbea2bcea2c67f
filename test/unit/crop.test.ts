// Face crop geometry (pipelines/pre/crop.ts): margin, squaring, clipping at the frame edges.
import t from 'tap';
import { faceCrop } from '../../pipelines/pre/crop.js';

t.test('square around the centre with the margin', async (t) => {
  t.same(faceCrop({ x1: 100, y1: 100, x2: 140, y2: 160 }, 1280, 720, 0), { left: 90, top: 100, width: 60, height: 60 }, 'no margin: the longer side, squared');
  t.same(faceCrop({ x1: 100, y1: 100, x2: 140, y2: 160 }, 1280, 720, 0.25), { left: 75, top: 85, width: 90, height: 90 }, '0.25 of 60 on each side');
});

t.test('clipped (not shifted) at the edges', async (t) => {
  t.same(faceCrop({ x1: 0, y1: 10, x2: 40, y2: 50 }, 640, 480, 0.25), { left: 0, top: 0, width: 50, height: 60 }, 'top-left corner');
  t.same(faceCrop({ x1: 600, y1: 440, x2: 640, y2: 480 }, 640, 480, 0.5), { left: 580, top: 420, width: 60, height: 60 }, 'bottom-right corner');
  const big = faceCrop({ x1: 10, y1: 10, x2: 630, y2: 470 }, 640, 480, 0.2)!;
  t.same(big, { left: 0, top: 0, width: 640, height: 480 }, 'a crop larger than the frame is the frame');
});

t.test('degenerate and outside boxes give null; bad arguments throw', async (t) => {
  t.equal(faceCrop({ x1: 10, y1: 10, x2: 10, y2: 50 }, 640, 480, 0.2), null, 'zero width');
  t.equal(faceCrop({ x1: 10, y1: 50, x2: 20, y2: 40 }, 640, 480, 0.2), null, 'inverted');
  t.equal(faceCrop({ x1: 700, y1: 10, x2: 720, y2: 30 }, 640, 480, 0), null, 'right of the frame');
  t.equal(faceCrop({ x1: NaN, y1: 10, x2: 20, y2: 30 }, 640, 480, 0), null, 'NaN');
  t.throws(() => faceCrop({ x1: 0, y1: 0, x2: 1, y2: 1 }, 0, 480, 0));
  t.throws(() => faceCrop({ x1: 0, y1: 0, x2: 1, y2: 1 }, 640, 480, -1));
});

t.test('integer pixels inside the frame for many boxes', async (t) => {
  let bad = 0;
  for (let i = 0; i < 500; i++) {
    const x1 = (i * 37) % 700 - 30, y1 = (i * 53) % 500 - 20, w = 1 + ((i * 7) % 90), h = 1 + ((i * 11) % 90);
    const r = faceCrop({ x1, y1, x2: x1 + w, y2: y1 + h }, 640, 480, 0.2);
    if (r && !(Number.isInteger(r.left) && Number.isInteger(r.width) && r.left >= 0 && r.top >= 0 && r.left + r.width <= 640 && r.top + r.height <= 480 && r.width >= 1 && r.height >= 1)) bad++;
  }
  t.equal(bad, 0);
});
