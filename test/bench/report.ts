// The Markdown block appended to docs/BENCHMARKS.md for one bench run: tables and goal ratios.
import type { Stages } from './stages.js';
import type { RunResult } from './systems.js';
import type { SwapResult } from './swap.js';

export interface BenchResult {
  date: string;
  machine: string;
  command: string;
  load: { start: string; end: string };
  clip: string;
  stages: Stages;
  runs: RunResult[];
  capacity: Record<string, number>;
  swap: SwapResult | null;
}

const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');

export function report(r: BenchResult): string {
  const s = r.stages;
  const sumCpu = s.decode.cpuMs + s.detector.cpuMs + s.classifier.cpuMs;
  const sumWall = s.decode.wallMs + s.detector.wallMs + s.classifier.wallMs;
  const L: string[] = [];
  L.push(`### ${r.date.slice(0, 16).replace('T', ' ')} UTC — \`${r.command}\``, '');
  L.push(`Machine: ${r.machine}. Load average (1/5/15 min) at start ${r.load.start}, at end ${r.load.end}. Clip: ${r.clip}.`, '');
  L.push('Stage costs in isolation (per frame; CPU = all threads):', '');
  L.push('| stage | CPU ms | wall ms |', '|---|---:|---:|');
  L.push(`| ffmpeg decode + scale/pad + rgb24, 720p (\`-benchmark\`, ${s.decode.frames} frames) | ${f(s.decode.cpuMs)} | ${f(s.decode.wallMs)} |`);
  L.push(`| detector session.run (RFB-320, 320x240) | ${f(s.detector.cpuMs)} | ${f(s.detector.wallMs)} |`);
  L.push(`| classifier session.run (batch 1, 128x128) | ${f(s.classifier.cpuMs)} | ${f(s.classifier.wallMs)} |`);
  L.push(`| **sum** (1 face per frame) | **${f(sumCpu)}** | **${f(sumWall)}** |`);
  L.push(`| (not in the sum) detector resize 1280x720 → 320x240 (pre/resample.ts) | ${f(s.resize720to320.cpuMs)} | ${f(s.resize720to320.wallMs)} |`);
  L.push(`| classifier per frame at batch 1 / 2 / 4 / 8 | ${Object.values(s.classifierBatch).map((c) => f(c.cpuMs)).join(' / ')} | ${Object.values(s.classifierBatch).map((c) => f(c.wallMs)).join(' / ')} |`);
  L.push('', `Machine limit from the stage sum: ${f((2 * 1000) / sumCpu / 10, 1)} cameras at 10 fps on 2 cores (${f((2 * 1000) / sumCpu, 0)} frames/s).`, '');
  L.push('| system | cams | results/s | dropped | cam FPS min/max | p50 / p95 / p99 ms | CPU ms/frame (own / +broker) | CPU ms by process | peak RSS MB by process | load 1/5/15 |');
  L.push('|---|---:|---:|---:|---|---|---|---|---|---|');
  for (const x of r.runs) {
    const cpu = Object.entries(x.usage.cpuMs).map(([k, v]) => `${k} ${v}`).join(', ');
    const rss = Object.entries(x.usage.peakRssMb).map(([k, v]) => `${k} ${v}`).join(', ');
    L.push(`| ${x.system === 'peer' ? 'Python peer (comparison)' : 'daemon'} | ${x.cameras} | ${f(x.resultsPerSec, 1)} | ${f(x.dropRate * 100, 1)} % | ${f(x.fairness.min, 1)} / ${f(x.fairness.max, 1)} | ${x.latencyMs.p50} / ${x.latencyMs.p95} / ${x.latencyMs.p99} | ${f(x.cpuMsPerFrame.system)} / ${f(x.cpuMsPerFrame.withBroker)} | ${cpu} | ${rss} | ${x.load} |`);
  }
  const d1 = r.runs.find((x) => x.system === 'daemon' && x.cameras === 1);
  const capD = r.capacity.daemon ?? 0, capP = r.capacity.peer ?? 0;
  L.push('', `Capacity (largest camera count with < 2 % dropped, of the counts run): daemon ${capD}, Python peer ${capP}.`, '');
  L.push('| goal | measured | verdict |', '|---|---|---|');
  if (r.capacity.peer !== undefined && r.capacity.daemon !== undefined)
    L.push(`| capacity ≥ 2× the Python loop | ${capD} vs ${capP} = ${capP ? f(capD / capP, 2) + '×' : 'peer 0'} | ${verdict(capP > 0 ? capD / capP >= 2 : capD > 0)} |`);
  if (d1) {
    const ratio = d1.cpuMsPerFrame.system / sumCpu;
    L.push(`| CPU per frame ≤ 1.1× the stage sum (1 camera) | ${f(d1.cpuMsPerFrame.system)} / ${f(sumCpu)} = ${f(ratio)}× | ${verdict(ratio <= 1.1)} |`);
    const lr = d1.latencyMs.p99 / sumWall;
    L.push(`| capture→publish p99 ≤ 2× decode + inference (1 camera) | ${d1.latencyMs.p99} / ${f(sumWall)} ms = ${f(lr)}× | ${verdict(lr <= 2)} |`);
  }
  if (r.swap) L.push(`| 0 unclassified frames across a swap | ${r.swap.unclassified} (swap took ${r.swap.swapMs} ms; results/s per second: ${r.swap.perSecond.join(' ')}) | ${verdict(r.swap.unclassified === 0)} |`);
  return L.join('\n') + '\n';
}
