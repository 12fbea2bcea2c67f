import t from 'tap';
import { alignLabels } from '../helpers/align.js';

t.test('finds the loop offset and counts mismatches', async (t) => {
  const truth = ['a', 'a', 'b', 'b', 'b', 'a'];
  // stream joined at clip frame 2: frame 0 shows truth[2]
  const results = [0, 1, 2, 3, 4, 5, 6, 7].map((f) => ({ frame: f, label: truth[(f + 2) % 6] }));
  results[3] = { frame: 3, label: 'b' }; // truth[5] is 'a': one mistake
  const a = alignLabels(results, truth);
  t.equal(a.offset, 2);
  t.equal(a.correct, 7);
  t.equal(a.total, 8);
  t.same(a.wrong, [{ frame: 3, label: 'b', expected: 'a' }]);
  t.equal(alignLabels([], truth).accuracy, 0);
});
