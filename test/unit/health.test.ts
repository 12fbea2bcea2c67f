import t from 'tap';
import { changeKey, evaluate, isFailed, rate, type ComponentSnapshot } from '../../daemon/health.js';

const policy = { budgetMax: 5, budgetWindowMs: 60_000, healthyResetMs: 30_000, engineDownMs: 20_000 };
const comp = (over: Partial<ComponentSnapshot>): ComponentSnapshot => ({ name: 'camera:a', state: 'running', restartsInWindow: 0, healthyForMs: 1000, lastError: null, ...over });

t.test('within budget is healthy, even while a camera is down', async (t) => {
  const v = evaluate([comp({}), comp({ name: 'camera:b', state: 'backoff', restartsInWindow: 5, healthyForMs: 0 })], policy, 0);
  t.same(v, { healthy: true, reasons: [], failed: [] });
});

t.test('over budget fails, with the reason and the last error', async (t) => {
  const v = evaluate([comp({ restartsInWindow: 6, healthyForMs: 0, lastError: 'no frame for 3 s', state: 'backoff' })], policy, 0);
  t.equal(v.healthy, false);
  t.same(v.failed, ['camera:a']);
  t.match(v.reasons[0], /camera:a: 6 restarts in 60 s \(budget 5\); last error: no frame for 3 s/);
});

t.test('over budget but running long enough again counts as recovered', async (t) => {
  t.equal(isFailed(comp({ restartsInWindow: 6, healthyForMs: 29_999 }), policy), true);
  t.equal(isFailed(comp({ restartsInWindow: 6, healthyForMs: 30_000 }), policy), false);
});

t.test('engine down longer than engineDownMs is unhealthy', async (t) => {
  t.equal(evaluate([comp({ name: 'engine', state: 'restarting', healthyForMs: 0 })], policy, 20_000).healthy, true);
  const v = evaluate([comp({ name: 'engine', state: 'restarting', healthyForMs: 0 })], policy, 20_001);
  t.equal(v.healthy, false);
  t.same(v.failed, ['engine']);
  t.match(v.reasons.join(), /engine: not ready for 20 s/);
});

t.test('rate and change key', async (t) => {
  t.equal(rate(0, 0, 50, 5000), 10);
  t.equal(rate(10, 1000, 10, 1000), 0, 'no time passed');
  t.equal(rate(10, 0, 5, 1000), 0, 'counter went back (restart): 0, not negative');
  const ok = { healthy: true, reasons: [], failed: [] };
  t.equal(changeKey(ok, { a: 'running', b: 'backoff' }), changeKey(ok, { b: 'backoff', a: 'running' }), 'order does not matter');
  t.not(changeKey(ok, { a: 'running' }), changeKey(ok, { a: 'backoff' }), 'a state change is a change');
});
