// edgectl eval --scenes DIR: the daemon's faces pipeline over photos with hand-checked face boxes
// (DIR/faces.json, format mobilenet-edge/scenes@1) → faces found, found and labelled right, false
// boxes, per class and face size, and each picture's frame label. The pipeline runs in
// pipelines/scenes-main as a child process (deploy/ may not import pipelines/), exactly as the
// engine worker runs it in the daemon.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../models/paths.js';
import { parseTruth, sceneReport, type FoundFace, type SceneReport } from '../models/scenes.js';
import { entry, run } from './annotate.js';

export interface SceneEvalOptions {
  dir: string;
  model?: string;
  detector?: string;
  scoreThreshold?: number;
  minFaceSize?: number;
  /** Faces shorter than this make the frame label only when no face is taller (default: the daemon's, 32; D121). */
  frameLabelMinFace?: number;
  margin?: number;
  /** Faces at least this tall (px) are the "large" ones of the report (default 40). */
  minSize?: number;
}

export interface SceneEval extends SceneReport {
  model: string;
  detector: string;
  /** Mean per picture (ms): detector, crops, classifier, as the worker measured them. */
  meanMs: { detect: number; crop: number; classify: number };
  results: { file: string; label: string; faces: (FoundFace & { score: number; detScore: number; detLabel?: string })[] }[];
}

export async function evaluateScenes(o: SceneEvalOptions): Promise<SceneEval> {
  const root = packageRoot();
  const model = o.model ?? join(root, 'models/mask-mobilenet/model.json');
  const detector = o.detector ?? join(root, 'models/ultraface-masked-rfb-640/model.json');
  const truthFile = join(o.dir, 'faces.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(truthFile, 'utf8'));
  } catch (e) {
    throw new Error(`${truthFile}: ${(e as Error).message} (--scenes needs DIR/faces.json with the ground truth)`);
  }
  const truth = parseTruth(raw, truthFile);
  const extra: string[] = [];
  if (o.scoreThreshold !== undefined) extra.push('--score-threshold', String(o.scoreThreshold));
  if (o.minFaceSize !== undefined) extra.push('--min-face-size', String(o.minFaceSize));
  if (o.margin !== undefined) extra.push('--margin', String(o.margin));
  if (o.frameLabelMinFace !== undefined) extra.push('--frame-label-min-face', String(o.frameLabelMinFace));
  const r = await run([...entry('pipelines/scenes-main'), ...truth.images.map((im) => join(o.dir, im.file)), '--model', model, '--detector', detector, ...extra]);
  if (r.code !== 0) throw new Error(r.stderr.trim().split('\n').filter((l) => !l.startsWith('engine:')).join('\n') || `scenes-main exited with code ${r.code}`);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  if (lines.length !== truth.images.length) throw new Error(`scenes-main answered ${lines.length} of ${truth.images.length} pictures`);
  const results = lines.map((l) => ({
    file: truth.images[lines.indexOf(l)].file,
    label: l.label as string,
    faces: (l.faces as { box: [number, number, number, number]; label: string; score: number; detScore: number; detLabel?: string }[]).map((f) => ({ box: f.box, label: f.label, score: f.score, detScore: f.detScore, ...(f.detLabel ? { detLabel: f.detLabel } : {}) })),
  }));
  const report = sceneReport(truth, results.map((x) => ({ faces: x.faces, frameLabel: x.label })), { minSize: o.minSize });
  const mean = (k: string) => Math.round((lines.reduce((a, l) => a + l[k], 0) / lines.length) * 100) / 100;
  return { ...report, model, detector, meanMs: { detect: mean('detectMs'), crop: mean('cropMs'), classify: mean('classifyMs') }, results };
}
