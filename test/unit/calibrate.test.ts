// Temperature scaling for edgectl train's head (models/calibrate.ts) and the report's SVG width.
import t from 'tap';
import { fitTemperature, nll, scaleHead } from '../../models/calibrate.js';
import { confusionSvg } from '../../deploy/report.js';

t.test('fitTemperature cools an over-confident head and leaves the argmax alone', async (t) => {
  // 10 samples, logits ±8: confident, but 2 of 10 are wrong → the best T is well above 1
  const logits = Array.from({ length: 10 }, (_, i) => (i % 2 ? [8, -8] : [-8, 8]));
  const y = logits.map((_, i) => (i < 8 ? (i % 2 ? 0 : 1) : i % 2 ? 1 : 0));
  const T = fitTemperature(logits, y);
  t.ok(T > 3, `T ${T}`);
  t.ok(nll(logits, y, T) < nll(logits, y, 1), 'lower NLL than uncalibrated');
  t.ok(nll(logits, y, T) <= nll(logits, y, T * 1.05) && nll(logits, y, T) <= nll(logits, y, T / 1.05), 'a minimum');
  // p = 0.8 for the top class at the optimum (8 of 10 right): 16/T = ln 4
  t.ok(Math.abs(16 / T - Math.log(4)) < 1e-3);
  t.equal(fitTemperature([], []), 1);
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
