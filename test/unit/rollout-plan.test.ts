// The pure part of staged rollouts: counts, targets, canaries and waves, probation verdicts from a
// device's retained state, and the final table.
import t from 'tap';
import { countOf, parseCount, planRollout, probationVerdict, selectDevices } from '../../deploy/rollout/plan.js';
import { rolloutSummary, rolloutTable, stageLine } from '../../deploy/rollout/report.js';
import { newRollout } from '../../deploy/rollout/state.js';
import type { StatePayload } from '../../deploy/ota/protocol.js';

const M = { name: 'tiny', version: '2.0.0' };
const state = (o: Partial<StatePayload>): StatePayload => ({ deviceId: 'd', groups: [], active: { name: 'tiny', version: '1.0.0' }, previous: null, versions: [], probationUntil: null, allowUnsigned: false, lastPush: null, lastRollback: null, at: '', ...o });
const pushed = (id: string) => ({ transferId: id, ok: true, code: 'OK' as const, message: '', ms: 1, at: '' });

t.test('counts: N or P%, percentages round up, bad input named', async (t) => {
  t.same(parseCount('3', '--canary'), { n: 3 });
  t.same(parseCount('10%', '--wave'), { pct: 10 });
  t.equal(countOf({ pct: 10 }, 3), 1);
  t.equal(countOf({ pct: 25 }, 100), 25);
  t.equal(countOf({ n: 5 }, 3), 3, 'never more than there are');
  t.throws(() => parseCount('ten', '--canary'), /--canary takes a number of devices or a percentage/);
  t.throws(() => parseCount('0%', '--wave'), /1%\.\.100%/);
  t.throws(() => parseCount('150%', '--wave'), /1%\.\.100%/);
});

t.test('targets: named devices, a group, or every device with a state', async (t) => {
  const s = new Map([['b', state({ groups: ['lobby'] })], ['a', state({ groups: ['lobby', 'door'] })], ['c', state({})], ['old', state({ groups: undefined })]]);
  t.same(selectDevices(s, {}), ['a', 'b', 'c', 'old']);
  t.same(selectDevices(s, { group: 'lobby' }), ['a', 'b']);
  t.same(selectDevices(s, { group: 'door' }), ['a']);
  t.same(selectDevices(s, { group: 'none' }), []);
  t.same(selectDevices(s, { devices: ['z', 'a', 'z'] }), ['a', 'z'], 'named devices need no state; repeats dropped');
});

t.test('plan: canaries first, then waves', async (t) => {
  const ten = Array.from({ length: 10 }, (_, i) => `d${i}`);
  t.same(planRollout(ten, { n: 2 }, { pct: 25 }), { canaries: ['d0', 'd1'], waves: [['d2', 'd3', 'd4'], ['d5', 'd6', 'd7'], ['d8', 'd9']] });
  t.same(planRollout(ten, undefined, { n: 100 }), { canaries: ['d0'], waves: [ten.slice(1)] }, 'one canary by default');
  t.same(planRollout(['x'], undefined, { pct: 25 }), { canaries: [], waves: [['x']] }, 'a single device gets no canary stage unless asked');
  t.same(planRollout(['x'], { n: 1 }, { pct: 25 }), { canaries: ['x'], waves: [] });
  t.same(planRollout(['a', 'b', 'c'], { pct: 10 }, { pct: 25 }), { canaries: ['a'], waves: [['b'], ['c']] });
});

t.test('probation verdict from the retained state', async (t) => {
  t.same(probationVerdict(undefined, M, 'x'), { kind: 'waiting', until: null });
  t.same(probationVerdict(state({ lastPush: pushed('other') }), M, 'x'), { kind: 'waiting', until: null }, "a state from before our push tells nothing");
  t.same(probationVerdict(state({ active: M, probationUntil: '2026-01-01T00:00:10.000Z', lastPush: pushed('x') }), M, 'x'), { kind: 'waiting', until: Date.parse('2026-01-01T00:00:10.000Z') });
  t.same(probationVerdict(state({ active: M, lastPush: pushed('x') }), M, 'x'), { kind: 'passed' });
  const rb = { from: M, to: { name: 'tiny', version: '1.0.0' }, reason: 'error rate 1.00 over 9 frames', at: '' };
  t.same(probationVerdict(state({ lastPush: pushed('x'), lastRollback: rb }), M, 'x'), { kind: 'failed', why: 'rolled back: error rate 1.00 over 9 frames' });
  t.same(probationVerdict(state({ active: M, lastPush: pushed('x'), lastRollback: rb }), M, 'x'), { kind: 'passed' }, 'an old rollback of the same version does not count once it is active again');
  t.match(probationVerdict(state({ lastPush: null }), M, 'x'), { kind: 'failed', why: /restarted and runs tiny@1\.0\.0/ });
  t.same(probationVerdict(state({ active: M, lastPush: null }), M, 'x'), { kind: 'passed' }, 'restarted on the new model, off probation');
});

t.test('table and summary say who runs what and why', async (t) => {
  const st = newRollout({ id: 'r1', site: 'lab', model: M, target: { group: 'lobby' }, plan: { canaries: ['a'], waves: [['b']] }, chunkBytes: 1024, timeoutMs: 1000, before: new Map([['a', { name: 'tiny', version: '1.0.0' }], ['b', { name: 'tiny', version: '1.0.0' }]]) });
  Object.assign(st.devices.a, { stage: 'failed', code: 'ROLLED_BACK', why: 'rolled back: engine crashed' });
  Object.assign(st.devices.b, { stage: 'skipped', code: 'NOT_SENT', why: 'rollout stopped: canary a failed (ROLLED_BACK)' });
  Object.assign(st, { phase: 'stopped', stoppedBy: 'canary a failed (ROLLED_BACK)' });
  const live = new Map([['a', state({})], ['b', state({})]]);
  const table = rolloutTable(st, live);
  t.match(table, /^a\s+canary\s+tiny@1\.0\.0\s+tiny@1\.0\.0\s+ROLLED_BACK\s+rolled back: engine crashed$/m);
  t.match(table, /^b\s+wave 1\s+tiny@1\.0\.0\s+tiny@1\.0\.0\s+NOT_SENT\s+rollout stopped/m);
  t.match(table, /rollout STOPPED: canary a failed \(ROLLED_BACK\); 0 of 2 device\(s\) run tiny@2\.0\.0$/);
  t.match(rolloutSummary(st, false), /tiny@2\.0\.0 to group lobby \(2 device\(s\), 1 canary, 1 wave\(s\)\)[^]*failed 1, not sent 1/);
  st.phase = 'waves';
  t.match(rolloutSummary(st, false), /INTERRUPTED \(its edgectl is gone\)/);
  t.match(rolloutSummary(st, true), /in progress \(edgectl pid \d+\)/);
  t.equal(stageLine({ device: 'a', role: 'canary', wave: 0, stage: 'receiving', chunks: [2, 8] }), 'a [canary]: received 2/8 chunks');
  t.equal(stageLine({ device: 'b', role: 'wave', wave: 2, stage: 'passed' }), 'b [wave 2]: probation passed');
});
