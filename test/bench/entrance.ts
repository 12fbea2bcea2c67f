// The motion-gating comparison (npm run bench -- --entrance): on the entrance-like clip (people in one
// fifth of the frames, test/helpers/entrance-clip.ts), at each camera count, the daemon with motion
// gating off, the daemon with it on, and the Python peer (which detects every frame). Plus the gate
// run offline over the same clip (test/bench/motion-eval.ts): what noise and people do to it.
import { entranceClip, type EntranceClip } from '../helpers/entrance-clip.js';
import { startInfra } from './infra.js';
import { motionEval, type MotionEval } from './motion-eval.js';
import { capacity } from './stats.js';
import { measure, type RunResult } from './systems.js';

export interface EntranceBench {
  clip: { path: string; seconds: number; frames: number; visits: EntranceClip['visits']; noise: number; presentFraction: number };
  gate: MotionEval;
  runs: RunResult[];
  /** Capacity (largest count with < 2 % dropped, of the counts run) per system: daemon, daemon+motion, peer. */
  capacity: { daemon?: number; motion?: number; peer?: number };
  counts: number[];
}

export async function entranceBench(o: {
  root: string;
  counts: number[];
  quick: boolean;
  /** Measurement window; default one loop of the clip, so each camera sees exactly one fifth with people. */
  seconds?: number;
  settle: number;
  fps: number;
  systems: ('daemon' | 'peer')[];
  log: (s: string) => void;
}): Promise<EntranceBench> {
  const clipSeconds = o.quick ? 10 : 25;
  const clip = await entranceClip({ seconds: clipSeconds, visits: o.quick ? 1 : 2 });
  o.log(`entrance clip ${clip.path}: ${clip.frames} frames, people in ${JSON.stringify(clip.visits)}`);
  const gate = await motionEval({ seconds: clipSeconds, visits: o.quick ? 1 : 2 });
  o.log(`gate offline: reused ${(gate.gate.reusedFraction * 100).toFixed(1)} %, frames with people reused ${gate.gate.peopleReused}`);
  const seconds = o.seconds ?? clipSeconds;
  const variants: { label: string; system: 'daemon' | 'peer'; camera?: Record<string, unknown> }[] = [];
  if (o.systems.includes('daemon')) variants.push({ label: 'daemon', system: 'daemon' }, { label: 'daemon+motion', system: 'daemon', camera: { motion: { enabled: true } } });
  if (o.systems.includes('peer')) variants.push({ label: 'peer', system: 'peer' });
  const infra = await startInfra(o.root, clip.path, Math.max(...o.counts));
  const runs: RunResult[] = [];
  try {
    for (const n of o.counts) {
      for (const v of variants) {
        o.log(`entrance ${v.label} x${n} (${seconds} s)`);
        try {
          const r = await measure(v.system, infra, n, o.fps, seconds, o.settle, v.camera ? { camera: v.camera } : {});
          runs.push(r);
          o.log(`  ${r.resultsPerSec} results/s, drop ${(r.dropRate * 100).toFixed(1)} %, reused ${r.reusedFraction !== undefined ? (r.reusedFraction * 100).toFixed(1) + ' %' : '–'}, p99 ${r.latencyMs.p99} ms, ${r.cpuMsPerFrame.system} ms CPU/frame, load ${r.load}`);
        } catch (e) {
          o.log(`  failed: ${(e as Error).message}`);
        }
      }
    }
  } finally {
    await infra.stop();
  }
  const cap: EntranceBench['capacity'] = {};
  if (o.systems.includes('daemon')) {
    cap.daemon = capacity(runs.filter((r) => r.system === 'daemon' && !r.motion));
    cap.motion = capacity(runs.filter((r) => r.system === 'daemon' && r.motion));
  }
  if (o.systems.includes('peer')) cap.peer = capacity(runs.filter((r) => r.system === 'peer'));
  return {
    clip: { path: clip.path, seconds: clipSeconds, frames: clip.frames, visits: clip.visits, noise: clip.noise, presentFraction: clip.presentFraction },
    gate, runs, capacity: cap, counts: o.counts,
  };
}
