// The --entrance bench report (test/bench/report.ts): rows per system and the gating verdict.
import t from 'tap';
import { entranceReport, type EntranceBenchResult } from '../bench/report.js';
import type { RunResult } from '../bench/systems.js';

const run = (system: 'daemon' | 'peer', cameras: number, dropRate: number, motion = false, reusedFraction?: number): RunResult => ({
  system, ...(motion ? { motion } : {}), cameras, fps: 10, seconds: 25, results: 250 * cameras, resultsPerSec: 10 * cameras, dropRate,
  perCameraFps: [], fairness: { min: 10, max: 10, ratio: 1 }, latencyMs: { p50: 1, p95: 20, p99: 30 }, cpuMsPerFrame: { system: motion ? 10 : 20, withBroker: 21 },
  usage: { cpuMs: { supervisor: 100 }, peakRssMb: { supervisor: 120 } } as RunResult['usage'], startupMs: 1000, load: '1 1 1',
  ...(reusedFraction !== undefined ? { reused: 1, reusedFraction } : {}),
});
const base = (runs: RunResult[], capacity: EntranceBenchResult['capacity'], counts: number[]): EntranceBenchResult => ({
  date: '2026-01-02T03:04:05.000Z', machine: 'test', command: 'npm run bench -- --entrance', load: { start: '1', end: '1' },
  clip: { path: '/tmp/x.mp4', seconds: 25, frames: 250, visits: [{ image: 'coral-face.jpg', start: 50, frames: 25 }, { image: 'aizoo-demo2.jpg', start: 175, frames: 25 }], noise: 20, presentFraction: 0.2 },
  gate: {
    clip: { path: '/tmp/x.mp4', frames: 250, noise: 20, presentFraction: 0.2 }, pixelNoise: { mean: 3.5, p99: 24, max: 80 },
    thresholds: [{ pixelThreshold: 30, emptyMax: 0.0004, emptyP99: 0.0004, peopleMin: 0.41, peopleVsPrevMin: 0.048 }],
    gate: { options: { pixelThreshold: 30, areaThreshold: 0.005, maxReuseSec: 2 }, detected: 61, reused: 189, reusedFraction: 0.756, peopleReused: 0, emptyMotion: 0, refresh: 8 }, thumbUs: 70,
  },
  runs, capacity, counts,
});

t.test('rows, reused fractions and a met verdict', async (t) => {
  const md = entranceReport(base([run('daemon', 1, 0), run('daemon', 1, 0, true, 0.752), run('peer', 1, 0), run('daemon', 8, 0, true, 0.75), run('peer', 8, 0.3)], { daemon: 1, motion: 8, peer: 2 }, [1, 2, 8]));
  t.match(md, /\| daemon, motion gating on \| 1 \| 10\.0 \| 0\.0 % \| 75\.2 % \|/);
  t.match(md, /\| Python peer \(detects every frame\) \| 8 \| 80\.0 \| 30\.0 % \| – \|/);
  t.match(md, /people in frames 50–74 \(coral-face\.jpg\), 175–199 \(aizoo-demo2\.jpg\) = 20 %/);
  t.match(md, /empty vs empty ≤ 0\.0004, people vs empty ≥ 0\.41/);
  t.match(md, /\| capacity with motion gating ≥ 4× the Python loop \(entrance clip\) \| 8 vs 2 = 4\.00× \| met \|/);
  t.match(md, /CPU per result, 1 camera, gating on \/ off \| 10\.00 \/ 20\.00 ms = 0\.50×/);
  t.match(md, /by camera count .* \| 1: 75\.2 %, 8: 75\.0 % \|/);
});

t.test('missed, and not shown when the gated daemon was never saturated', async (t) => {
  t.match(entranceReport(base([], { daemon: 2, motion: 4, peer: 2 }, [1, 2, 4, 8])), /\| 4 vs 2 = 2\.00× \| \*\*missed\*\* \|/);
  t.match(entranceReport(base([], { daemon: 2, motion: 4, peer: 4 }, [1, 2, 4])), /4 vs 4 = 1\.00× \(the peer kept up at the largest count run, 4: its real limit is higher\) \| not shown: the gated daemon kept up/);
  t.notMatch(entranceReport(base([], { peer: 2 }, [1, 2])), /capacity with motion gating/, 'no verdict without daemon runs');
});
