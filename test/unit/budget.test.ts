import t from 'tap';
import { ErrorStorm, RestartBudget } from '../../pipelines/budget.js';

t.test('restart budget: max restarts in a sliding window', async (t) => {
  const b = new RestartBudget({ max: 3, windowMs: 60_000 });
  t.ok(b.ok(0), 'no restarts: within budget');
  t.ok(b.record(1000));
  t.ok(b.record(2000));
  t.ok(b.record(3000), 'the 3rd restart is still within a budget of 3');
  t.notOk(b.record(4000), 'the 4th inside the window exceeds it');
  t.equal(b.count(4000), 4);
  t.notOk(b.ok(60_999), 'still failed while 4 restarts are inside the window');
  t.ok(b.ok(61_000), 'the oldest restart leaves the window: within budget again');
  t.equal(b.count(61_000), 3);
  t.equal(b.count(200_000), 0, 'all restarts age out');
});

t.test('error storm: threshold errors within the window', async (t) => {
  const s = new ErrorStorm(3, 1000);
  t.notOk(s.record(0));
  t.notOk(s.record(100));
  t.ok(s.record(200), 'third error within 1 s is a storm');
  s.reset();
  t.notOk(s.record(300), 'reset starts over');
  t.notOk(s.record(1400), 'errors spread out are no storm');
  t.notOk(s.record(2500));
});
