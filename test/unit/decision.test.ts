// The manifest's decision rule (models/decision.ts) and its place in the manifest.
import t from 'tap';
import { decide, decisionProblems, prCurve } from '../../models/decision.js';
import { parseManifest } from '../../models/manifest.js';
import { classify } from '../../models/classify.js';

const rule = { label: 'no_mask', threshold: 0.3 };

t.test('decide: the rule label wins from its threshold on, argmax of the rest below it', async (t) => {
  const c = classify([0.75, 0.25], ['mask', 'no_mask'], 'probabilities');
  t.equal(c.label, 'mask', 'argmax');
  t.same(decide(c, { label: 'no_mask', threshold: 0.25 }), { label: 'no_mask', score: 0.25, scores: c.scores }, 'p = t counts');
  t.same(decide(c, { label: 'no_mask', threshold: 0.26 }).label, 'mask');
  t.equal(decide(c, undefined), c, 'no rule: unchanged');
  const three = classify([0.5, 0.2, 0.3], ['a', 'b', 'c'], 'probabilities');
  t.same(decide(three, { label: 'a', threshold: 0.6 }), { label: 'c', score: 0.3, scores: three.scores }, 'below t: best of the others');
});

t.test('decisionProblems and the manifest', async (t) => {
  t.same(decisionProblems(rule, ['mask', 'no_mask']), []);
  t.match(decisionProblems({ label: 'x', threshold: 1 }, ['mask', 'no_mask']).join(';'), /decision\.label.*not one of the labels.*decision\.threshold/);
  t.match(decisionProblems({ label: 'mask', threshold: 0.5, extra: 1 }, ['mask', 'no_mask']).join(';'), /decision\.extra: unknown key/);
  const base = {
    format: 'mobilenet-edge/model@1', name: 'm', version: '1', task: 'classify', file: 'model.onnx', sha256: 'a'.repeat(64),
    input: { name: 'input', layout: 'NCHW', width: 8, height: 8, colorOrder: 'RGB' }, preprocess: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
    output: { name: 'logits', kind: 'logits' }, labels: ['mask', 'no_mask'],
  };
  t.same(parseManifest({ ...base, decision: { ...rule, chosenFor: 'recall' } }).decision, { ...rule, chosenFor: 'recall' });
  t.equal(parseManifest(base).decision, undefined, 'optional');
  t.throws(() => parseManifest({ ...base, decision: { label: 'maybe', threshold: 0.5 } }), /decision\.label/);
  t.throws(() => parseManifest({ ...base, task: 'detect', labels: ['BACKGROUND', 'face'], detect: { boxes: 'b', boxFormat: 'corners-normalized' }, decision: rule }), /decision: only for task "classify"/);
});

t.test('prCurve', async (t) => {
  const s = [{ p: 0.9, positive: true }, { p: 0.4, positive: true }, { p: 0.35, positive: false }, { p: 0.1, positive: false }];
  t.same(prCurve(s, [0.3, 0.5]), [
    { threshold: 0.3, precision: 2 / 3, recall: 1, otherRecall: 0.5 },
    { threshold: 0.5, precision: 1, recall: 0.5, otherRecall: 1 },
  ]);
});
