// Tracking against ground truth, offline, on real parts: the clip with ground-truth tracks
// (test/helpers/people-clip.ts), decoded by ffmpeg, each frame through a real engine worker with and
// without tracking (test/bench/people-eval.ts). Acceptance of issue 14: ≥ 95 % of people get exactly one
// enter and one leave; per-person verdicts right at least as often as per-frame labels; few ID
// switches; the classifier reads far fewer faces than per frame.
import t from 'tap';
import { join } from 'node:path';
import { peopleEval, peopleEvalTable } from '../bench/people-eval.js';

t.test('people on the ground-truth clip: one enter and leave each, verdicts, ID switches, MOTA', async (t) => {
  const e = await peopleEval({ root: join(import.meta.dirname, '..', '..') });
  t.comment(peopleEvalTable(e));
  const r = e.variants[0];
  t.equal(e.clip.frames, 320, 'the whole clip was decoded');
  t.ok(r.exactlyOneEnterLeave / r.people >= 0.95, `≥ 95 % of people with exactly one enter and one leave (${r.exactlyOneEnterLeave}/${r.people})`);
  t.ok(r.verdictRight / r.people >= e.perFrame.labelRight, `person verdicts right (${r.verdictRight}/${r.people}) at least as often as per-frame labels (${e.perFrame.labelRight})`);
  t.ok(r.idsw <= 10, `ID switches ${r.idsw} ≤ 10 (a regression guard: most are a partly covered face briefly taken for a new one)`);
  t.ok(r.mota >= 0.9, `MOTA ${r.mota} ≥ 0.9`);
  t.ok(r.fp <= 3, `few false positives (${r.fp})`);
  t.ok(r.readings < e.perFrame.readings / 4, `classifier readings ${r.readings} < a quarter of per frame (${e.perFrame.readings})`);
});
