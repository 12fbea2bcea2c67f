// Tracking and per-person verdicts measured against ground truth, offline (no RTSP, no MQTT): the
// clip with ground-truth tracks (test/helpers/people-clip.ts) is decoded by ffmpeg and each frame goes
// to a real engine worker (UltraFace + the bundled classifier), once without tracking (the per-frame
// labels, as before issue 14) and once per tracking variant through the real PeopleStage, with the
// worker classifying only what needs it. Reports per variant: MOTA, ID switches, people with exactly
// one enter and one leave, per-person verdicts right vs per-frame labels right, classifier readings.
//   node dist/test/bench/people-eval.js [--variants default|all] [--detector models/…/model.json] [--json out.json]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { EngineWorker } from '../../pipelines/engines/client.js';
import { lowScoreFor, PeopleStage } from '../../pipelines/tracking/stage.js';
import { readManifest } from '../../models/manifest-file.js';
import type { PersonEvent } from '../../pipelines/tracking/people.js';
import type { Frame } from '../../pipelines/sources/process-source.js';
import { peopleClip, type PeopleClip } from '../helpers/people-clip.js';
import { MotCounter } from '../helpers/mot.js';

export interface Variant { name: string; detectEvery: number; readEveryFrames: number; growth?: number; minHits?: number; maxLostFrames?: number }
export const DEFAULT_VARIANT: Variant = { name: 'default (K 10, every frame)', detectEvery: 1, readEveryFrames: 10 };
export const VARIANTS: Variant[] = [
  DEFAULT_VARIANT,
  { name: 'K 5', detectEvery: 1, readEveryFrames: 5 },
  { name: 'K 20', detectEvery: 1, readEveryFrames: 20 },
  { name: 'K 10, detector every 2nd frame', detectEvery: 2, readEveryFrames: 10 },
  { name: 'K 10, detector every 3rd frame', detectEvery: 3, readEveryFrames: 10 },
];

export interface VariantResult {
  variant: Variant;
  mota: number; idsw: number; fn: number; fp: number; gtFaces: number;
  people: number; exactlyOneEnterLeave: number; verdictRight: number;
  enters: number; leaves: number; readings: number; detections: number;
}
export interface PeopleEval {
  clip: { path: string; frames: number; people: number };
  detector: string;
  perFrame: { labelRight: number; labelled: number; readings: number; mota: number };
  variants: VariantResult[];
}

/** Frames of a clip, decoded one at a time (rgb24, the clip's size). */
async function* decode(path: string, w: number, h: number): AsyncGenerator<Buffer> {
  const ff = spawn('/usr/bin/ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const size = w * h * 3;
  let buf = Buffer.alloc(0);
  for await (const chunk of ff.stdout) {
    buf = Buffer.concat([buf, chunk as Buffer]);
    while (buf.length >= size) {
      yield buf.subarray(0, size);
      buf = buf.subarray(size);
    }
  }
}

/** The daemon's default face detector (issue 15: the masked-face RFB-640). */
export const DEFAULT_DETECTOR = 'models/ultraface-masked-rfb-640/model.json';

export async function peopleEval(o: { variants?: Variant[]; root: string; log?: (s: string) => void; clip?: PeopleClip; detector?: string }): Promise<PeopleEval> {
  const variants = o.variants ?? [DEFAULT_VARIANT];
  const clip = o.clip ?? (await peopleClip('tracks'));
  // the compiled worker (npm test and the bench build dist/ first): no TypeScript loader to start
  const w = new EngineWorker({ command: [process.execPath, join(o.root, 'dist/pipelines/engines/onnxruntime/worker.js')], helloTimeoutMs: 120000, loadTimeoutMs: 120000, inferTimeoutMs: 60000 });
  try {
    await w.start();
    await w.load(join(o.root, 'models/mask-mobilenet/model.json'), ['cpu']);
    const detPath = join(o.root, o.detector ?? DEFAULT_DETECTOR);
    await w.loadDetector(detPath, ['cpu']);
    const high = (await readManifest(detPath)).detect?.scoreThreshold ?? 0.7;
    const runs = variants.map((v) => {
      const events: PersonEvent[] = [];
      const stage = new PeopleStage({ high, low: lowScoreFor(high, 0.5), privacy: 'off', detectEvery: v.detectEvery, reading: { everyFrames: v.readEveryFrames, ...(v.growth ? { growth: v.growth } : {}) }, tracker: { ...(v.minHits ? { minHits: v.minHits } : {}), ...(v.maxLostFrames !== undefined ? { maxLostFrames: v.maxLostFrames } : {}) }, onEvents: (e) => events.push(...e) });
      stage.add('cam');
      return { v, stage, events, mot: new MotCounter(), readings: 0, detections: 0 };
    });
    const base = { mot: new MotCounter(), right: 0, labelled: 0, readings: 0 };
    let i = 0;
    const id = (b: number[]) => b as [number, number, number, number];
    for await (const data of decode(clip.path, clip.width, clip.height)) {
      const gt = clip.truth(i);
      const frame: Frame = { format: 'rgb24', camera: 'cam', seq: i, ts: 1_700_000_000_000 + i * 100, mono: i * 100, width: clip.width, height: clip.height, data, hold() {}, release() {} };
      // per frame, no tracking: every face classified, its own label
      const r = await w.faces(data, clip.width, clip.height, {});
      base.readings += r.faces.length;
      const m = base.mot.frame(gt, r.faces.map((f, k) => ({ box: f.box, track: k })));
      for (const g of gt) {
        const k = m.get(g.id);
        if (k === undefined) continue;
        base.labelled++;
        if (r.faces[k].label === g.label) base.right++;
      }
      for (const run of runs) {
        const faces = run.stage.carries(frame)
          ? run.stage.predicted(frame, id)
          : await (async () => {
              run.detections++;
              const tr = run.stage.request('cam', i);
              const rr = await w.faces(data, clip.width, clip.height, tr ? { tracking: tr } : {});
              return run.stage.detected(frame, rr.faces, id);
            })();
        run.readings += faces.filter((f) => f.classified).length;
        run.mot.frame(gt, faces);
      }
      i++;
      if (i % 50 === 0) o.log?.(`frame ${i}/${clip.frames}`);
    }
    const results: VariantResult[] = runs.map((run) => {
      const byGt = new Map<number, { enters: number; leaves: number; leaveLabel: string | null }>();
      for (const e of run.events) {
        const g = run.mot.gtOf(e.track);
        if (g === undefined) continue;
        const x = byGt.get(g) ?? { enters: 0, leaves: 0, leaveLabel: null };
        if (e.type === 'enter') x.enters++;
        if (e.type === 'leave') {
          x.leaves++;
          x.leaveLabel = e.label;
        }
        byGt.set(g, x);
      }
      if (process.env.PEOPLE_EVAL_DEBUG) for (const e of run.events) process.stderr.write(`${run.v.name}: ${e.type} track ${e.track} gt ${run.mot.gtOf(e.track)} ${e.at} ${e.label}\n`);
      let one = 0, right = 0;
      for (const p of clip.people) {
        const x = byGt.get(p.id);
        if (x && x.enters === 1 && x.leaves === 1) one++;
        if (x && x.leaves >= 1 && x.leaveLabel === p.label) right++;
      }
      const mot = run.mot;
      return {
        variant: run.v, mota: round(mot.mota), idsw: mot.idsw, fn: mot.fn, fp: mot.fp, gtFaces: mot.gt,
        people: clip.people.length, exactlyOneEnterLeave: one, verdictRight: right,
        enters: run.events.filter((e) => e.type === 'enter').length, leaves: run.events.filter((e) => e.type === 'leave').length,
        readings: run.readings, detections: run.detections,
      };
    });
    return { clip: { path: clip.path, frames: i, people: clip.people.length }, detector: o.detector ?? DEFAULT_DETECTOR, perFrame: { labelRight: round(base.right / Math.max(1, base.labelled)), labelled: base.labelled, readings: base.readings, mota: round(base.mot.mota) }, variants: results };
  } finally {
    await w.stop(1000);
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;

export function peopleEvalTable(e: PeopleEval): string {
  const rows = e.variants.map((r) => `| ${r.variant.name} | ${r.mota} | ${r.idsw} | ${r.fn} / ${r.fp} | ${r.exactlyOneEnterLeave}/${r.people} | ${r.verdictRight}/${r.people} (${Math.round((100 * r.verdictRight) / r.people)} %) | ${r.readings} (${Math.round((100 * r.readings) / e.perFrame.readings)} %) | ${r.detections} |`);
  return [
    `Clip: ${e.clip.frames} frames, ${e.clip.people} people (test/helpers/people-clip.ts 'tracks'); detector ${e.detector}. Per-frame labels (no tracking): ${Math.round(e.perFrame.labelRight * 1000) / 10} % of ${e.perFrame.labelled} matched faces right, ${e.perFrame.readings} classifier readings.`,
    '',
    '| variant | MOTA | ID switches | FN / FP | exactly one enter + leave | person verdict right | classifier readings (vs per frame) | detector runs |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const all = process.argv.includes('--variants') && process.argv[process.argv.indexOf('--variants') + 1] === 'all';
  const root = join(import.meta.dirname, '..', '..', '..');
  const d = process.argv.indexOf('--detector');
  const e = await peopleEval({ root, variants: all ? VARIANTS : [DEFAULT_VARIANT], ...(d > 0 ? { detector: process.argv[d + 1] } : {}), log: (s) => process.stderr.write(`[people-eval] ${s}\n`) });
  const j = process.argv.indexOf('--json');
  if (j > 0) writeFileSync(process.argv[j + 1], JSON.stringify(e, null, 2));
  process.stdout.write(peopleEvalTable(e) + '\n');
}
