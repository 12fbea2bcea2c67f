// Frame label, debounced state and the publish gate (pipelines/face-events.ts).
import t from 'tap';
import { FRAME_LABEL_MIN_FACE, frameLabel, PublishGate, StateDebouncer, type FrameLabel } from '../../pipelines/face-events.js';

t.test('frame label', async (t) => {
  t.same(frameLabel([]), { label: 'no_face', counts: { faces: 0, mask: 0, no_mask: 0 } });
  t.same(frameLabel([{ label: 'mask' }, { label: 'mask' }]).label, 'mask');
  t.same(frameLabel([{ label: 'mask' }, { label: 'no_mask' }, { label: 'mask' }]), { label: 'no_mask', counts: { faces: 3, mask: 2, no_mask: 1 } });
});

t.test('frame label: faces shorter than the minimum leave it to taller faces (D121)', async (t) => {
  const face = (label: string, h: number) => ({ label, box: [10, 10, h * 0.8, h] });
  const crowd = [face('mask', 120), face('mask', 45), face('no_mask', 28), face('no_mask', 31.9)];
  t.same(frameLabel(crowd, 32), { label: 'mask', counts: { faces: 4, mask: 2, no_mask: 2 } }, 'small unmasked faces in a masked crowd: mask; counts keep every face');
  t.same(frameLabel(crowd, 0).label, 'no_mask', '0: every face makes the label, as before');
  t.same(frameLabel(crowd).label, 'no_mask', 'no minimum given: every face');
  t.same(frameLabel([face('mask', 200), face('no_mask', 32)], 32).label, 'no_mask', 'a face exactly at the minimum counts');
  t.same(frameLabel([face('mask', 200), face('no_mask', 40)], 32).label, 'no_mask', 'a tall unmasked face always makes the frame no_mask');
  t.same(frameLabel([face('no_mask', 20), face('mask', 25)], 32).label, 'no_mask', 'no face is tall enough: all of them make the label');
  t.same(frameLabel([face('mask', 20)], 32).label, 'mask', 'a lone small masked face');
  t.same(frameLabel([{ label: 'no_mask' }, face('mask', 100)], 32).label, 'mask', 'a face without a box is not a tall one');
  t.same(frameLabel([], 32).label, 'no_face');
  t.equal(FRAME_LABEL_MIN_FACE, 32, 'the documented default (docs/CONFIG.md faces.frameLabelMinFace)');
});

const counts = { faces: 1, mask: 1, no_mask: 0 };
function feed(d: StateDebouncer, labels: FrameLabel[]) {
  return labels.map((l, i) => d.push(l, 1000 * i, i, counts)).map((c, i) => (c ? [i, c.state, c.sinceFrame, c.previous] : null)).filter(Boolean);
}

t.test('state changes after N agreeing frames, since = the first of them', async (t) => {
  const d = new StateDebouncer(3);
  const changes = feed(d, ['mask', 'mask', 'mask', 'mask', 'no_mask', 'no_mask', 'no_mask', 'no_mask']);
  t.same(changes, [
    [2, 'mask', 0, null],
    [6, 'no_mask', 4, 'mask'],
  ]);
  const d2 = new StateDebouncer(3);
  const c = d2.push('no_face', Date.parse('2024-01-01T00:00:00Z'), 7, counts);
  t.equal(c, null);
  d2.push('no_face', 0, 8, counts);
  t.same(d2.push('no_face', 0, 9, counts), { state: 'no_face', previous: null, since: '2024-01-01T00:00:00.000Z', sinceFrame: 7, frames: 3, counts });
});

t.test('no flicker: alternating or short runs never change the state', async (t) => {
  const d = new StateDebouncer(3);
  feed(d, ['mask', 'mask', 'mask']);
  const changes = feed(d, ['no_mask', 'mask', 'no_mask', 'no_mask', 'mask', 'no_face', 'no_face', 'no_mask', 'mask', 'mask']);
  t.same(changes, []);
  t.equal(d.state, 'mask');
});

t.test('hysteresis 1 follows every change; invalid hysteresis throws', async (t) => {
  const d = new StateDebouncer(1);
  t.equal(feed(d, ['mask', 'no_mask', 'no_mask', 'mask']).length, 3);
  t.throws(() => new StateDebouncer(0));
  t.throws(() => new StateDebouncer(1.5));
});

t.test('publish gate: every, rate, change', async (t) => {
  const every = new PublishGate({ mode: 'every' });
  t.same([0, 1, 2].map((ms) => every.offer(ms, 'a')), [true, true, true]);
  const rate = new PublishGate({ mode: 'rate', maxHz: 2 });
  t.same([0, 100, 499, 500, 900, 1000, 1600].map((ms) => rate.offer(ms, 'a')), [true, false, false, true, false, true, true]);
  const change = new PublishGate({ mode: 'change' });
  t.same(['a', 'a', 'b', 'b', 'a'].map((k, i) => change.offer(i, k)), [true, false, true, false, true]);
  t.throws(() => new PublishGate({ mode: 'rate', maxHz: 0 }));
});
