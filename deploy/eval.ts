// edgectl eval: run a model over a folder of class folders and report accuracy.
// Runs onnxruntime in this process (edgectl is a tool, not the supervisor), with the manifest's
// own preprocessing and the same letterbox the camera path applies.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { checkGraph, inputShape, type Manifest } from '../models/manifest.js';
import { readModel } from '../models/model-file.js';
import { metrics, type Metrics } from '../models/metrics.js';
import { toTensor } from '../models/preprocess.js';
import { classify } from '../models/classify.js';
import { decide, prCurve } from '../models/decision.js';
import { openCpuSession } from './cpu-session.js';

const IMAGE = /\.(jpe?g|png|webp)$/i;

/** Decode an image and letterbox it to the model input as packed RGB (black bars, bilinear). */
export async function loadImage(file: string, m: Manifest): Promise<Buffer> {
  const { width, height } = m.input;
  const [r, g, b] = m.input.padColor;
  const fit = m.input.resize === 'stretch' ? 'fill' : 'contain';
  return sharp(file).rotate().removeAlpha().toColourspace('srgb').resize(width, height, { fit, background: { r, g, b }, kernel: 'linear' }).raw().toBuffer();
}

export interface EvalResult extends Metrics {
  mistakes: { file: string; actual: string; predicted: string; score: number }[];
  /** The model's decision rule, when its manifest has one (the predictions above follow it). */
  decision?: { label: string; threshold: number };
  /** Precision / recall of the rule's label (or of the second label of a two-label model) per threshold. */
  curve?: { label: string; points: ReturnType<typeof prCurve> };
}

export const CURVE_THRESHOLDS = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

export async function evaluate(folder: string, manifestPath: string, onProgress?: (done: number, total: number) => void): Promise<EvalResult> {
  const { manifest: m } = await readModel(manifestPath);
  const classes = (await readdir(folder, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  const unknown = classes.filter((c) => !m.labels.includes(c));
  if (!classes.length) throw new Error(`${folder} has no class folders (expected ${m.labels.map((l) => l + '/').join(', ')})`);
  if (unknown.length) throw new Error(`${folder} has folders that are not labels of ${m.name}: ${unknown.join(', ')} (labels: ${m.labels.join(', ')})`);
  const files: { file: string; actual: string }[] = [];
  for (const c of classes.sort()) for (const f of (await readdir(join(folder, c))).filter((n) => IMAGE.test(n)).sort()) files.push({ file: join(folder, c, f), actual: c });
  if (!files.length) throw new Error(`no images (.jpg, .png, .webp) under ${folder}`);
  return evaluateFiles(files, manifestPath, m.labels, onProgress);
}

/** The decision rule and the precision/recall curve as text lines (empty when there is no curve). */
export function formatCurve(r: EvalResult): string[] {
  if (!r.curve) return [];
  const l = r.curve.label;
  const pc = (x: number) => `${(100 * x).toFixed(2)}%`.padStart(9);
  return [
    r.decision ? `decision rule (manifest): ${l} when p(${l}) >= ${r.decision.threshold}` : `no decision rule in the manifest: argmax`,
    '',
    `precision/recall of ${l} when p(${l}) >= t (the other class's recall beside it)`,
    `     t  ${`${l} precision`.padStart(18)} ${`${l} recall`.padStart(15)} ${'other recall'.padStart(13)}`,
    ...r.curve.points.map((q) => `  ${q.threshold.toFixed(2).padStart(4)}  ${pc(q.precision).padStart(18)} ${pc(q.recall).padStart(15)} ${pc(q.otherRecall).padStart(13)}`),
  ];
}

/**
 * Run a model over a list of labelled files. `labels` is the label set of the report (it may hold
 * classes the model cannot output, e.g. a base model scored on an adapted model's classes: those
 * images are simply wrong for it).
 */
export async function evaluateFiles(files: { file: string; actual: string }[], manifestPath: string, labels: string[], onProgress?: (done: number, total: number) => void): Promise<EvalResult> {
  const { manifest: m, bytes } = await readModel(manifestPath);
  const { session, io } = await openCpuSession(bytes);
  const problems = checkGraph(m, io);
  if (problems.length) throw new Error(`model does not match its manifest: ${problems.join('; ')}`);
  const all = [...labels, ...m.labels.filter((l) => !labels.includes(l))];
  const pairs: { actual: string; predicted: string }[] = [];
  const mistakes: EvalResult['mistakes'] = [];
  const tensor = new Float32Array(inputShape(m).reduce((a, b) => a * b, 1));
  const curveLabel = m.decision?.label ?? (m.labels.length === 2 ? m.labels[1] : undefined);
  const samples: { p: number; positive: boolean }[] = [];
  for (let i = 0; i < files.length; i++) {
    const { file, actual } = files[i];
    let rgb: Buffer;
    try {
      rgb = await loadImage(file, m);
    } catch (e) {
      throw new Error(`${file} is not a readable image: ${(e as Error).message}`);
    }
    toTensor(rgb, m.input, m.preprocess, tensor);
    const out = await session.run({ [m.input.name]: new ort.Tensor('float32', tensor, inputShape(m)) }, [m.output.name]);
    const c = decide(classify(out[m.output.name].data as Float32Array, m.labels, m.output.kind), m.decision);
    if (curveLabel) samples.push({ p: c.scores[curveLabel], positive: actual === curveLabel });
    pairs.push({ actual, predicted: c.label });
    if (c.label !== actual) mistakes.push({ file, actual, predicted: c.label, score: c.score });
    onProgress?.(i + 1, files.length);
  }
  await session.release();
  return {
    ...metrics(all, pairs),
    mistakes,
    ...(m.decision ? { decision: { label: m.decision.label, threshold: m.decision.threshold } } : {}),
    ...(curveLabel ? { curve: { label: curveLabel, points: prCurve(samples, CURVE_THRESHOLDS) } } : {}),
  };
}
