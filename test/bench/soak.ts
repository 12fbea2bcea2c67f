#!/usr/bin/env node
// npm run soak -- [--minutes 60] [--cameras 2] [--sample-sec 60] [--no-doc]
// The daemon (child process) on N RTSP streams of the 720p clip for a long time; every sample
// period: RSS of the supervisor and of the engine worker, results/s. Reports RSS growth (last −
// first sample after the first minute, and the least-squares slope) and appends it to docs/BENCHMARKS.md.
import { parseArgs } from 'node:util';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../models/paths.js';
import { clip720, machine, startInfra } from './infra.js';
import { loadavg, startDaemon, stopProcs, Subscriber } from './systems.js';
import { readAll, rssKb } from './procmon.js';
import { descendants, slope } from './stats.js';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '60' }, cameras: { type: 'string', default: '2' }, 'sample-sec': { type: 'string', default: '60' }, 'no-doc': { type: 'boolean', default: false } } });
const minutes = Number(values.minutes), n = Number(values.cameras), every = Number(values['sample-sec']);
const root = packageRoot();
const started = new Date();
const loadStart = await loadavg();
const infra = await startInfra(root, await clip720(root), n);
const sub = new Subscriber();
await sub.start(infra.mqttPort, 'bench/+/mask');
const p = startDaemon(infra, n, 10);
const samples: { min: number; supervisorMb: number; engineMb: number; fps: number; load: string }[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
try {
  while (sub.counts.size < n) await sleep(200);
  const t0 = Date.now();
  while (Date.now() - t0 < minutes * 60_000) {
    sub.reset();
    await sleep(every * 1000);
    const all = await readAll();
    const engine = descendants(p.pid!, all).map((pid) => ({ pid, comm: all.find((x) => x.pid === pid)?.comm })).find((x) => x.comm === 'node');
    const s = {
      min: Math.round((Date.now() - t0) / 600) / 100,
      supervisorMb: Math.round(rssKb(p.pid!) / 102.4) / 10,
      engineMb: engine ? Math.round(rssKb(engine.pid) / 102.4) / 10 : 0,
      fps: Math.round(([...sub.counts.values()].reduce((a, b) => a + b, 0) / every) * 10) / 10,
      load: await loadavg(),
    };
    samples.push(s);
    process.stderr.write(`[soak] ${JSON.stringify(s)}\n`);
  }
} finally {
  await stopProcs([p]);
  await sub.stop();
  await infra.stop();
}
const xs = samples.map((s) => s.min);
const growth = (k: 'supervisorMb' | 'engineMb') => Math.round((samples[samples.length - 1][k] - samples[0][k]) * 10) / 10;
// Steady state: from the first sample at WARMUP_MIN minutes on (heap, JIT and buffer pools settle
// first); a leak keeps growing there, a warm-up does not. Reported beside the first → last growth.
const WARMUP_MIN = 10;
const steady = samples.filter((s) => s.min >= WARMUP_MIN);
const steadyGrowth = (k: 'supervisorMb' | 'engineMb') => (steady.length >= 2 ? Math.round((steady[steady.length - 1][k] - steady[0][k]) * 10) / 10 : null);
const result = {
  date: started.toISOString(), machine: machine(), command: `npm run soak -- ${process.argv.slice(2).join(' ')}`.trim(),
  cameras: n, minutes, load: { start: loadStart, end: await loadavg() }, samples,
  supervisorGrowthMb: growth('supervisorMb'), engineGrowthMb: growth('engineMb'),
  supervisorSlopeMbPerMin: Math.round(slope(xs, samples.map((s) => s.supervisorMb)) * 100) / 100,
  engineSlopeMbPerMin: Math.round(slope(xs, samples.map((s) => s.engineMb)) * 100) / 100,
  steadyFromMin: steady[0]?.min ?? null,
  supervisorSteadyGrowthMb: steadyGrowth('supervisorMb'),
  engineSteadyGrowthMb: steadyGrowth('engineMb'),
};
mkdirSync(join(root, 'bench-results'), { recursive: true });
writeFileSync(join(root, 'bench-results', `soak-${started.toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify(result, null, 2));
const md = [
  `### ${result.date.slice(0, 16).replace('T', ' ')} UTC — soak, \`${result.command}\``, '',
  `Machine: ${result.machine}. ${n} cameras (720p, 10 fps, faces mode), ${minutes} min, sampled every ${every} s. Load average at start ${result.load.start}, at end ${result.load.end}.`, '',
  '| minute | supervisor RSS MB | engine RSS MB | results/s | load 1/5/15 |', '|---:|---:|---:|---:|---|',
  ...samples.map((s) => `| ${s.min} | ${s.supervisorMb} | ${s.engineMb} | ${s.fps} | ${s.load} |`), '',
  `Supervisor RSS growth first → last sample: ${result.supervisorGrowthMb} MB (slope ${result.supervisorSlopeMbPerMin} MB/min); engine: ${result.engineGrowthMb} MB (${result.engineSlopeMbPerMin} MB/min). Goal < 5 MB over the soak: ${Math.abs(result.supervisorGrowthMb) < 5 ? 'met' : '**missed**'}${minutes < 60 ? ` (a ${minutes}-minute soak, not the 60-minute one)` : ''}.` +
    (result.supervisorSteadyGrowthMb !== null ? ` After the warm-up (minute ${result.steadyFromMin} → last sample): supervisor ${result.supervisorSteadyGrowthMb} MB, engine ${result.engineSteadyGrowthMb} MB.` : ''), '',
].join('\n');
process.stdout.write(md + '\n');
if (!values['no-doc']) appendFileSync(join(root, 'docs/BENCHMARKS.md'), '\n' + md);
process.exit(0);
