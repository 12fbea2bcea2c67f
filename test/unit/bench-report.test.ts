// The bench report's goal rows (test/bench/report.ts): the 12-camera goal (D162) against the stage sum measured
// just before and after the step when the run has it (their mean), else against the start's.
import t from 'tap';
import { report, type BenchResult } from '../bench/report.js';
import type { Stages } from '../bench/stages.js';
import type { RunResult } from '../bench/systems.js';

const cost = (ms: number) => ({ cpuMs: ms, wallMs: ms });
const stages: Stages = {
  decode: { ...cost(1), frames: 400 }, detector: cost(6), classifier: cost(1), classifierBatch: { 1: cost(1) }, detectorInput: cost(0.7),
  detectorName: 'det 640x480', classifierSize: '160x160', paced: { frames: 100, p50: 7, p99: 9 },
};
const run = (cameras: number, cpu: number, extra: Partial<RunResult> = {}): RunResult => ({
  system: 'daemon', cameras, fps: 10, seconds: 15, results: 150 * cameras, resultsPerSec: 10 * cameras, dropRate: 0,
  perCameraFps: [10], fairness: { min: 10, max: 10, ratio: 1 }, latencyMs: { p50: 8, p95: 11, p99: 12 }, cpuMsPerFrame: { system: cpu, withBroker: cpu + 0.1 },
  usage: { cpuMs: { supervisor: 100 }, peakRssMb: { supervisor: 120 } } as RunResult['usage'], startupMs: 1000, load: '1 1 1', ...extra,
});
const bench = (runs: RunResult[]): BenchResult => ({
  date: '2026-12-04T19:00:00.000Z', machine: 'test', command: 'npm run bench', load: { start: '1', end: '1' }, clip: 'clip', stages, runs, capacity: { daemon: 12 }, swap: null,
});
const sum = (s: number) => ({ decode: 1, detector: s - 2, classifier: 1, sum: s });

t.test('without a stage sum beside the step: against the one at the start', async (t) => {
  t.match(report(bench([run(12, 12.4)])), /\| CPU per frame ≤ 1\.5× the stage sum \(12 cameras\) \| 12\.40 \/ 8\.00 = 1\.55× \| \*\*missed\*\* \|/);
});

t.test('with one: against the mean of before and after, the start shown beside it', async (t) => {
  const md = report(bench([run(12, 12.4, { stageSum: { before: sum(8.4), after: sum(8.8) } })]));
  t.match(md, /\| 12\.40 \/ 8\.60 = 1\.44× \(the stage sum measured just before and after the step: 8\.40 and 8\.80 ms, their mean; 8\.00 at the start of the run, 1\.55× against that\) \| met \|/);
  const lower = report(bench([run(12, 12.4, { stageSum: { before: sum(7.6), after: sum(7.8) } })]));
  t.match(lower, /= 1\.61× .* \| \*\*missed\*\* \|/, 'a slower start does not help a run whose step saw a faster machine');
});

t.test('a ratio that two decimals would show as its goal gets a third (1-camera latency)', async (t) => {
  const latency = (md: string) => md.split('\n').find((l) => l.startsWith('| capture→publish p99'))!;
  const at = (p99: number, detectorMs: number) => report({ ...bench([run(1, 10, { latencyMs: { p50: 8, p95: 11, p99 } })]), stages: { ...stages, detector: cost(detectorMs) } });
  t.match(latency(at(16, 5.99)), /\| 16 \/ 7\.99 ms = 2\.003× .* \| \*\*missed\*\* \|$/, 'just over the goal reads as over it');
  t.match(latency(at(16, 6)), /\| 16 \/ 8\.00 ms = 2\.00× .* \| met \|$/, 'the goal itself keeps two decimals');
  t.match(latency(at(14, 6)), /= 1\.75× .* \| met \|$/);
});
