// The people comparison (npm run bench -- --people): on the moving-crowd clip (about 10 faces a frame
// walking up to a door, test/helpers/people-clip.ts 'crowd'), at each camera count: the daemon
// classifying every face of every frame (people.enabled false, as before issue 14), the daemon with
// tracking (each face read a few times) and the detector on every frame, the default (the cadence
// rises under load, D96), the detector on every 2nd frame, and the
// Python peer (detects and classifies every frame). Plus the offline evaluation on the clip with
// ground-truth tracks (test/bench/people-eval.ts): MOTA, ID switches, enter/leave, verdicts.
import { peopleClip } from '../helpers/people-clip.js';
import { startInfra } from './infra.js';
import { capacity } from './stats.js';
import { measure, type RunResult } from './systems.js';
import { peopleEval, peopleEvalTable, VARIANTS, type PeopleEval } from './people-eval.js';

export interface PeopleBench {
  clip: { path: string; frames: number; people: number };
  runs: RunResult[];
  capacity: Record<string, number>;
  counts: number[];
  eval: PeopleEval | null;
}

export const PEOPLE_VARIANTS: { label: string; system: 'daemon' | 'peer'; config?: Record<string, unknown> }[] = [
  { label: 'per frame', system: 'daemon', config: { people: { enabled: false } } },
  { label: 'tracking, detector on every frame', system: 'daemon', config: { people: { detectEveryMax: 1 } } },
  { label: 'tracking (default: cadence 1, up to 3 under load)', system: 'daemon' },
  { label: 'tracking, detector every 2nd frame', system: 'daemon', config: { people: { detectEvery: 2, detectEveryMax: 2 } } },
  { label: 'peer', system: 'peer' },
];

export async function peopleBench(o: { root: string; counts: number[]; seconds: number; settle: number; fps: number; systems: ('daemon' | 'peer')[]; evaluate: boolean; log: (s: string) => void }): Promise<PeopleBench> {
  const clip = await peopleClip('crowd');
  o.log(`crowd clip ${clip.path}: ${clip.frames} frames, ${clip.people.length} people`);
  const ev = o.evaluate ? await peopleEval({ root: o.root, variants: VARIANTS, log: o.log }) : null;
  if (ev) o.log(`\n${peopleEvalTable(ev)}`);
  const variants = PEOPLE_VARIANTS.filter((v) => o.systems.includes(v.system));
  const infra = await startInfra(o.root, clip.path, Math.max(...o.counts));
  const runs: RunResult[] = [];
  try {
    for (const n of o.counts)
      for (const v of variants) {
        o.log(`people ${v.label} x${n} (${o.seconds} s)`);
        try {
          const r = await measure(v.system, infra, n, o.fps, o.seconds, o.settle, { label: v.label, ...(v.config ? { config: v.config } : {}) });
          runs.push(r);
          o.log(`  ${r.resultsPerSec} results/s, drop ${(r.dropRate * 100).toFixed(1)} %, predicted ${((r.predictedFraction ?? 0) * 100).toFixed(1)} %, p99 ${r.latencyMs.p99} ms, ${r.cpuMsPerFrame.system} ms CPU/frame, load ${r.load}`);
        } catch (e) {
          o.log(`  failed: ${(e as Error).message}`);
        }
      }
  } finally {
    await infra.stop();
  }
  const cap = Object.fromEntries(variants.map((v) => [v.label, capacity(runs.filter((r) => r.label === v.label))]));
  return { clip: { path: clip.path, frames: clip.frames, people: clip.people.length }, runs, capacity: cap, counts: o.counts, eval: ev };
}

/** The Markdown section for docs/BENCHMARKS.md. */
export function peopleReport(r: PeopleBench & { date: string; machine: unknown; command: string; load: { start: string; end: string } }): string {
  const peer = (n: number) => r.runs.find((x) => x.system === 'peer' && x.cameras === n);
  const rows = r.runs.map((x) => {
    const p = peer(x.cameras);
    const ratio = p && x.system === 'daemon' ? ` (${Math.round((100 * x.cpuMsPerFrame.system) / p.cpuMsPerFrame.system)} % of the peer)` : '';
    const carried = x.predictedFraction !== undefined ? `${(x.predictedFraction * 100).toFixed(1)} %` : '–';
    return `| ${x.label ?? x.system} | ${x.cameras} | ${x.resultsPerSec} | ${(x.dropRate * 100).toFixed(1)} % | ${carried} | ${x.cpuMsPerFrame.system}${ratio} | ${x.latencyMs.p99} | ${x.load} |`;
  });
  return [
    `## People: tracking on the moving crowd (${r.date})`,
    '',
    `Command: \`${r.command}\`; machine: ${JSON.stringify(r.machine)}; load average at start ${r.load.start}, at end ${r.load.end}.`,
    `Clip: ${r.clip.frames} frames, ${r.clip.people} people walking up to a door, about 10 faces a frame (test/helpers/people-clip.ts 'crowd').`,
    '',
    '| variant | cameras | results/s | dropped | carried by prediction | CPU ms per frame | p99 ms | load |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Capacity (most cameras with < 2 % dropped, of the counts run): ${Object.entries(r.capacity).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    ...(r.eval ? ['', '### Tracking against ground truth', '', peopleEvalTable(r.eval)] : []),
  ].join('\n');
}
