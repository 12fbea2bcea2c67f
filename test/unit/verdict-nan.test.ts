// A model that answers NaN (null after the engine protocol's JSON) poisons a track's verdict until a
// finite reading comes (a fixed model after a hot swap): OTA probation must see the NaN, later models not.
import t from 'tap';
import { decideLabel, TrackVerdict } from '../../pipelines/tracking/verdict.js';

const box = [0, 0, 100, 100];

t.test('a NaN or null reading gives a NaN verdict score, not a confident first label', async (t) => {
  const v = new TrackVerdict();
  v.add(1, { mask: 0.9, no_mask: 0.1 }, box, 0.9);
  t.ok(Number.isFinite(v.verdict()!.score), 'finite before');
  v.add(2, { mask: null as unknown as number, no_mask: null as unknown as number }, box, 0.9);
  t.ok(Number.isNaN(v.verdict()!.score), 'NaN after a null reading');
  t.ok(Number.isNaN(decideLabel({ mask: NaN, no_mask: 0.2 }).score));
});

t.test('a finite reading after NaN ones drops them', async (t) => {
  const v = new TrackVerdict();
  v.add(1, { mask: NaN, no_mask: NaN }, box, 0.9);
  v.add(2, { mask: 0.2, no_mask: 0.8 }, box, 0.9);
  const r = v.verdict()!;
  t.equal(r.label, 'no_mask');
  t.equal(r.score, 0.8);
});
