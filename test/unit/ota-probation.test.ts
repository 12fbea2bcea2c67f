// Probation verdicts (error rate with non-finite results, latency against the previous model) and what
// a start does with a trial found on disk (resume, fall back at the N-th start, drop a stale one).
import t from 'tap';
import { EventEmitter } from 'node:events';
import { bootDecision, Probation, probationVerdict, type ProbationOptions } from '../../daemon/ota/probation.js';
import { hasNonFinite, median, ResultReadings } from '../../daemon/ota/readings.js';
import { ProbationFile, type ProbationRecord } from '../../daemon/ota/records.js';
import { createLogger } from '../../daemon/log.js';
import { realWallMs, stepWallClock, YEAR_MS } from '../helpers/wall-clock.js';

const o: ProbationOptions = { probationSec: 60, probationMaxErrorRate: 0.2, probationMinFrames: 20, probationLatencyFactor: 3, probationLatencyMinMs: 20 };
const quiet = { taken: 100, failed: 0, nonFinite: 0, medianMs: 5, samples: 100, baselineMs: 5 };

t.test('verdicts', async (t) => {
  t.equal(probationVerdict(o, quiet), null, 'a healthy model passes');
  t.match(probationVerdict(o, { ...quiet, failed: 30 }), /error rate 0\.30 over 100 frames exceeds ota\.probationMaxErrorRate 0\.2/);
  t.match(probationVerdict(o, { ...quiet, nonFinite: 100 }), /0 failed and 100 non-finite \(NaN\/Inf\) results over 100 frames/, 'NaN outputs are failures');
  t.equal(probationVerdict(o, { ...quiet, nonFinite: 100, taken: 10, samples: 10 }), null, 'not before probationMinFrames');
  t.match(probationVerdict(o, { ...quiet, medianMs: 80 }), /median inference 80\.0 ms over 100 results is above 25\.0 ms/, 'much slower than the previous model');
  t.equal(probationVerdict(o, { ...quiet, medianMs: 24 }), null, 'within baseline + probationLatencyMinMs');
  t.equal(probationVerdict(o, { ...quiet, medianMs: 0.4, baselineMs: 0.1 }), null, 'tiny times: 4x but under the absolute margin');
  t.match(probationVerdict(o, { ...quiet, medianMs: 400, baselineMs: 100 }), /above 300\.0 ms/, 'factor 3 on a slow baseline');
  t.equal(probationVerdict(o, { ...quiet, medianMs: 400, baselineMs: null }), null, 'no baseline: latency is not judged');
  // a model so slow that the trial saw few timed results: not judged on latency during the trial…
  const starved = { ...quiet, taken: 8, medianMs: 900, samples: 3, baselineMs: 5 };
  t.equal(probationVerdict(o, starved), null, 'fewer than probationMinFrames timed results: not yet');
  // …but when it ends, on whatever there is: it cannot pass for want of readings
  t.match(probationVerdict(o, starved, true), /median inference 900\.0 ms over 3 results is above 25\.0 ms/, 'the trial ends: judged on 3 results');
  t.equal(probationVerdict(o, { ...starved, medianMs: 6 }, true), null, 'a model as fast as before passes at the end');
  t.equal(probationVerdict(o, { ...starved, samples: 0, medianMs: null }, true), null, 'no timed result at all: latency not judged');
});

t.test('readings: non-finite results and median per model', async (t) => {
  t.ok(hasNonFinite(NaN, {}));
  t.ok(hasNonFinite(0.9, { a: 0.9, b: Infinity }));
  t.ok(hasNonFinite(null, {}, [0.5, NaN]), 'a face score');
  t.ok(hasNonFinite(null, {}, [0.5, null]), 'a NaN face score after the engine protocol\'s JSON (null)');
  t.ok(hasNonFinite(0.5, { a: null, b: 0.5 }), 'a null per-label score');
  t.notOk(hasNonFinite(null, {}, []), 'faces mode, no face');
  t.notOk(hasNonFinite(0.9, { a: 0.9, b: 0.1 }, [0.7]));
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 2, 3]), 2.5);
  t.equal(median([]), null);
  const r = new ResultReadings();
  const m = { name: 'tiny', version: '2' };
  for (let i = 0; i < 5; i++) r.observe(m, true, 100); // warm-up: times not counted
  for (let i = 0; i < 10; i++) r.observe(m, false, i);
  t.same(r.of(m), { results: 15, nonFinite: 5, medianMs: 4.5, samples: 10 }, 'non-finite counted from the first result, times after the warm-up');
  r.reset(m);
  t.same(r.of(m), { results: 0, nonFinite: 0, medianMs: null, samples: 0 });
  // results without a time (faces mode, no face read) neither use up the warm-up nor pull the median to 0
  for (let i = 0; i < 50; i++) r.observe(m, false, NaN);
  for (let i = 0; i < 5; i++) r.observe(m, false, 500); // the new worker's first timed runs
  for (let i = 0; i < 9; i++) r.observe(m, false, 40);
  t.same(r.of(m), { results: 64, nonFinite: 0, medianMs: 40, samples: 9 }, 'untimed results counted, not timed; warm-up = the first 5 timed');
  // the readings of the model that serves are never the ones forgotten (16 models at most)
  const many = new ResultReadings();
  const active = { name: 'tiny', version: 'active' };
  for (let i = 0; i < 40; i++) {
    many.observe({ name: 'tiny', version: `v${i}` }, false, 1);
    many.observe(active, false, 1);
  }
  t.equal(many.of(active).results, 40, 'the least recently observed models are forgotten first');
});

t.test('boot decisions and the trial file', async (t) => {
  const rec: ProbationRecord = { format: 'mobilenet-edge/probation@1', model: { name: 'tiny', version: '2' }, from: { name: 'tiny', version: '1' }, since: 1000, until: 61_000, boots: 0, baselineMs: 3 };
  const active = { name: 'tiny', version: '2' };
  t.same(bootDecision(null, active, 3, 2000), { kind: 'none' });
  t.same(bootDecision(rec, { name: 'tiny', version: '1' }, 3, 2000), { kind: 'stale' }, 'the pointer never moved to it');
  t.same(bootDecision(rec, active, 3, 70_000), { kind: 'stale' }, 'the trial was over');
  t.same(bootDecision(rec, active, 3, 2000), { kind: 'resume', record: { ...rec, boots: 1 } });
  t.same(bootDecision({ ...rec, boots: 1 }, active, 3, 2000).kind, 'resume');
  const f = bootDecision({ ...rec, boots: 2 }, active, 3, 2000);
  t.equal(f.kind, 'fallback', 'the third start during the trial falls back');
  t.match(f.kind === 'fallback' && f.reason, /started 3 times during tiny 2's probation \(ota\.probationMaxBoots 3\)/);
  const dir = t.testdir({});
  const file = new ProbationFile(dir, createLogger('error', () => {}));
  t.equal(file.read(), null);
  file.write(rec);
  t.same(file.read(), rec, 'written and read back');
  file.clear();
  t.equal(file.read(), null);
});

t.test('a trial is timed on the monotonic clock (D165): a step of the wall clock neither ends it nor stretches it', async (t) => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const trial = (probationSec: number) => {
    const passed: string[] = [];
    const failed: string[] = [];
    const p = new Probation({ ...o, probationSec }, new ProbationFile(t.testdir({}), createLogger('error', () => {})), {
      frameCounts: () => ({ taken: 0, failed: 0 }),
      readings: new ResultReadings(),
      engine: () => new EventEmitter(),
      fail: (why) => failed.push(why),
      changed: () => passed.push('changed'),
    }, createLogger('error', () => {}));
    t.teardown(() => p.stop());
    return { p, passed, failed };
  };
  const until = async (done: () => boolean, ms: number) => {
    const t0 = realWallMs();
    while (!done() && realWallMs() - t0 < ms) await sleep(50);
  };
  // NTP steps the clock a year forward just after the swap: the 3 s trial goes on for its 3 s
  const a = trial(3);
  const t0 = performance.now();
  a.p.begin({ name: 'tiny', version: '2' }, { name: 'tiny', version: '1' });
  const restore = stepWallClock(t, YEAR_MS);
  await sleep(600);
  t.ok(a.p.current, 'still on trial after the step');
  await until(() => a.p.current === null, 10_000);
  t.equal(a.p.current, null, 'passed');
  t.ok(performance.now() - t0 >= 3000, `after its 3 s (${Math.round(performance.now() - t0)} ms)`);
  t.same(a.failed, []);
  restore();
  // resumed after a restart on a board whose clock is a year behind: at most one whole trial more
  const b = trial(1);
  const rec: ProbationRecord = { format: 'mobilenet-edge/probation@1', model: { name: 'tiny', version: '2' }, from: null, since: realWallMs(), until: realWallMs() + YEAR_MS, boots: 1, baselineMs: null };
  b.p.resume(rec);
  await until(() => b.p.current === null, 10_000);
  t.equal(b.p.current, null, 'a resumed trial lasts at most ota.probationSec, not the year its record says');
  t.same(b.failed, []);
});
