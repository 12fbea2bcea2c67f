// Temperature scaling for edgectl train's head (models/calibrate.ts) and the report's SVG width.
import t from 'tap';
import { fitTemperature, meanConfidence, nll, scaleHead } from '../../models/calibrate.js';
import { confusionSvg } from '../../deploy/report.js';

t.test('fitTemperature cools an over-confident head and leaves the argmax alone', async (t) => {
  // 10 samples, logits ±8: confident, but 2 of 10 are wrong → the best T is well above 1
  const logits = Array.from({ length: 10 }, (_, i) => (i % 2 ? [8, -8] : [-8, 8]));
  const y = logits.map((_, i) => (i < 8 ? (i % 2 ? 0 : 1) : i % 2 ? 1 : 0));
  const T = fitTemperature(logits, y);
  t.ok(T > 3, `T ${T}`);
  t.ok(nll(logits, y, T) < nll(logits, y, 1), 'lower NLL than uncalibrated');
  t.ok(Math.abs(meanConfidence(logits, T) - 9 / 12) < 1e-3, 'confidence = (8 + 1) / (10 + 2), the Laplace-smoothed accuracy');
  t.equal(fitTemperature([], []), 1);
  // all right: the NLL alone would sharpen (T → 0); T stays ≥ 1 and confidence ≤ (n + 1) / (n + 2)
  const sep = [[6, -6], [-5, 5], [7, -7]];
  const Ts = fitTemperature(sep, [0, 1, 0]);
  t.ok(Ts >= 1 && meanConfidence(sep, Ts) <= 4 / 5 + 1e-6, `T ${Ts}, confidence ${meanConfidence(sep, Ts)}`);
  const mild = [[0.4, -0.4], [-0.3, 0.3], [0.2, -0.2], [-0.1, 0.1]];
  t.equal(Math.round(fitTemperature(mild, [0, 1, 0, 1]) * 1000) / 1000, 1, 'an under-confident head is not sharpened');
  const h = scaleHead({ classes: 2, dim: 1, weight: Float32Array.from([2, -4]), bias: Float32Array.from([1, 0]) }, 2);
  t.same([...h.weight, ...h.bias], [1, -2, 0.5, 0]);
});

t.test('confusion matrix SVG is wide enough for its title', async (t) => {
  const m = { labels: ['a', 'b'], matrix: [[1, 0], [0, 1]], total: 2, accuracy: 1, perClass: [] } as never;
  const title = 'after: /some/long/path/to/the/adapted/model.json on the held-out slice';
  const svg = confusionSvg(m, title);
  const width = Number(/width="(\d+)"/.exec(svg)![1]);
  t.ok(width >= 20 + title.length * 9, `width ${width} for a ${title.length}-character title`);
});
