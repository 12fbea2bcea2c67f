#!/usr/bin/env node
// The motion gate on the entrance clip, offline (no daemon): every frame of the clip decoded to
// 1280x720 rgb24 by the system ffmpeg, the gate run over it as the daemon would (every detection
// succeeds at once), and the evidence for the defaults: the changed fraction of noise-only frames
// against the reference vs that of frames with people, at several pixel thresholds; the frames the
// gate would reuse; and the sensor noise itself (per-pixel luma change between consecutive empty frames).
//
//   node dist/test/bench/motion-eval.js [--seconds 25] [--visits 2] [--noise 6] [--json]
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { changedFraction, lumaThumbnail, MotionGate, MOTION_DEFAULTS, type MotionOptions } from '../../pipelines/motion.js';
import { entranceClip, type EntranceClip } from '../helpers/entrance-clip.js';

export interface GateRun {
  options: MotionOptions;
  detected: number;
  reused: number;
  reusedFraction: number;
  /** Frames with people that the gate reused (want 0). */
  peopleReused: number;
  /** Empty frames detected for motion (want 0 apart from a visit's exit), and for refresh. */
  emptyMotion: number;
  refresh: number;
}

export interface MotionEval {
  clip: { path: string; frames: number; noise: number; presentFraction: number };
  /** Per-pixel |Δ luma| between consecutive empty frames: mean, p99, max. */
  pixelNoise: { mean: number; p99: number; max: number };
  /** At each pixel threshold: changed fraction of empty frames vs the first empty frame (max, p99) and of frames with people vs the empty scene (min). */
  thresholds: { pixelThreshold: number; emptyMax: number; emptyP99: number; peopleMin: number; peopleVsPrevMin: number }[];
  gate: GateRun;
  /** Cost of one lumaThumbnail of a 720p frame (µs, mean of all frames). */
  thumbUs: number;
}

/** Decode every frame of a clip to rgb24 at its own size. */
export async function decodeAll(path: string, width: number, height: number): Promise<Buffer[]> {
  const size = width * height * 3;
  const p = spawn('/usr/bin/ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const frames: Buffer[] = [];
  let pending: Buffer[] = [], have = 0;
  for await (const c of p.stdout as AsyncIterable<Buffer>) {
    pending.push(c);
    have += c.length;
    while (have >= size) {
      const all = Buffer.concat(pending);
      frames.push(all.subarray(0, size));
      pending = [all.subarray(size)];
      have -= size;
    }
  }
  return frames;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

/** Run the gate over decoded frames at the clip's frame rate; every detection succeeds at once. */
export function runGate(frames: Uint8Array[], clip: EntranceClip, options: MotionOptions): GateRun {
  const g = new MotionGate(options);
  let detected = 0, reused = 0, peopleReused = 0, emptyMotion = 0, refresh = 0;
  frames.forEach((f, i) => {
    const now = (i * 1000) / clip.fps;
    const s = g.check(f, clip.width, clip.height, now);
    if (s.decision === 'reuse') {
      reused++;
      if (clip.present(i)) peopleReused++;
      return;
    }
    detected++;
    if (s.reason === 'refresh') refresh++;
    // a visit's first empty frame (the people just left) is real motion, not noise
    if (s.reason === 'motion' && !clip.present(i) && !clip.present(i - 1)) emptyMotion++;
    g.detected(s, now);
  });
  return { options, detected, reused, reusedFraction: Math.round((reused / frames.length) * 1000) / 1000, peopleReused, emptyMotion, refresh };
}

export async function motionEval(opts: { seconds?: number; visits?: number; noise?: number } = {}, gate: MotionOptions = { ...MOTION_DEFAULTS }): Promise<MotionEval> {
  const clip = await entranceClip(opts);
  const frames = await decodeAll(clip.path, clip.width, clip.height);
  if (frames.length !== clip.frames) throw new Error(`decoded ${frames.length} frames of ${clip.path}, expected ${clip.frames}`);
  const t0 = process.hrtime.bigint();
  const thumbs = frames.map((f) => lumaThumbnail(f, clip.width, clip.height));
  const thumbUs = Number(process.hrtime.bigint() - t0) / 1000 / frames.length;
  const empty = thumbs.map((_, i) => i).filter((i) => !clip.present(i));
  const people = thumbs.map((_, i) => i).filter((i) => clip.present(i));
  // sensor noise: per-pixel luma change between consecutive empty frames (every 7th pixel)
  const diffs: number[] = [];
  for (let k = 1; k < Math.min(empty.length, 40); k++) {
    const a = frames[empty[k - 1]], b = frames[empty[k]];
    if (empty[k] !== empty[k - 1] + 1) continue;
    for (let o = 0; o < a.length; o += 21) {
      const la = (77 * a[o] + 150 * a[o + 1] + 29 * a[o + 2]) >> 8, lb = (77 * b[o] + 150 * b[o + 1] + 29 * b[o + 2]) >> 8;
      diffs.push(Math.abs(la - lb));
    }
  }
  const ref = thumbs[empty[0]];
  const thresholds = [5, 10, 15, 20, 25, 30, 40].map((pixelThreshold) => {
    const e = empty.slice(1).map((i) => changedFraction(thumbs[i], ref, pixelThreshold));
    const p = people.map((i) => changedFraction(thumbs[i], ref, pixelThreshold));
    // frame to frame while people are present (they pan 10 px per frame)
    const pp = people.filter((i) => clip.present(i - 1)).map((i) => changedFraction(thumbs[i], thumbs[i - 1], pixelThreshold));
    const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
    return { pixelThreshold, emptyMax: r4(Math.max(...e)), emptyP99: r4(pct(e, 99)), peopleMin: r4(Math.min(...p)), peopleVsPrevMin: r4(Math.min(...pp)) };
  });
  return {
    clip: { path: clip.path, frames: clip.frames, noise: clip.noise, presentFraction: clip.presentFraction },
    pixelNoise: { mean: Math.round((diffs.reduce((a, b) => a + b, 0) / diffs.length) * 100) / 100, p99: pct(diffs, 99), max: diffs.reduce((a, b) => Math.max(a, b), 0) },
    thresholds,
    gate: runGate(frames, clip, gate),
    thumbUs: Math.round(thumbUs * 10) / 10,
  };
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const { values } = parseArgs({ options: { seconds: { type: 'string' }, visits: { type: 'string' }, noise: { type: 'string' }, json: { type: 'boolean', default: false } } });
  const num = (s?: string) => (s === undefined ? undefined : Number(s));
  const r = await motionEval({ seconds: num(values.seconds), visits: num(values.visits), noise: num(values.noise) });
  if (values.json) process.stdout.write(JSON.stringify(r, null, 1) + '\n');
  else {
    const L = [`clip ${r.clip.path}: ${r.clip.frames} frames, noise ${r.clip.noise}, people in ${r.clip.presentFraction * 100} %`,
      `sensor noise, per-pixel |Δluma| between consecutive empty frames: mean ${r.pixelNoise.mean}, p99 ${r.pixelNoise.p99}, max ${r.pixelNoise.max}`,
      `lumaThumbnail of a 1280x720 frame: ${r.thumbUs} µs`,
      '', '| pixelThreshold | empty vs empty: max / p99 changed | people vs empty: min changed | people frame to frame: min changed |', '|---:|---:|---:|---:|',
      ...r.thresholds.map((x) => `| ${x.pixelThreshold} | ${x.emptyMax} / ${x.emptyP99} | ${x.peopleMin} | ${x.peopleVsPrevMin} |`),
      '', `gate ${JSON.stringify(r.gate.options)}: detected ${r.gate.detected}, reused ${r.gate.reused} (${(r.gate.reusedFraction * 100).toFixed(1)} %), frames with people reused ${r.gate.peopleReused}, empty frames detected for motion ${r.gate.emptyMotion}, refreshes ${r.gate.refresh}`];
    process.stdout.write(L.join('\n') + '\n');
  }
}
