// The faces request inside the onnxruntime worker: one frame (or a batch across cameras) in,
// classified faces out.
// frame → resize to the detector input → detector → decode + NMS → for each face: crop (margin,
// squared, clipped) from the full frame, resized to the classifier input (pre/resample.ts) →
// classifier (one batched run when the graph has a dynamic batch axis) → labels.
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { ort } from './ort.js';
import { inputShape, type Manifest } from '../../../models/manifest.js';
import { toTensor } from '../../../models/preprocess.js';
import { classify } from '../../../models/classify.js';
import { decodeDetections } from '../../../models/detect.js';
import { faceCrop, type Rect } from '../../pre/crop.js';
import { letterbox } from '../../pre/tensor.js';
import { resampleRegion } from '../../pre/resample.js';
import type { FaceResult, FacesOptions, FacesResultMsg } from '../protocol.js';

export interface Loaded {
  session: InferenceSession;
  manifest: Manifest;
}

export const FACE_DEFAULTS = { margin: 0.2, maxFaces: 32, minFaceSize: 8 } as const;

/** Does the graph's first input take any batch size (symbolic or -1 first dimension)? */
export function hasDynamicBatch(session: InferenceSession): boolean {
  const m = session.inputMetadata[0];
  if (!m?.isTensor) return false;
  const d = m.shape[0];
  return typeof d !== 'number' || d < 0;
}

const r1 = (x: number) => Math.round(x * 10) / 10;

/** Check sizes and options before any work; returns a message for a bad request, or null. */
export function facesRequestProblem(width: number, height: number, bodyBytes: number, o: FacesOptions): string | null {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16 || width > 8192 || height > 8192)
    return `frame size ${width}x${height} must be integers 16..8192`;
  if (bodyBytes !== width * height * 3) return `frame has ${bodyBytes} bytes, expected ${width * height * 3} for ${width}x${height} RGB24`;
  const unit = (v: number | undefined) => v === undefined || (v > 0 && v < 1);
  if (!unit(o.scoreThreshold) || !unit(o.iouThreshold)) return 'scoreThreshold and iouThreshold must be in (0, 1)';
  if (o.margin !== undefined && !(o.margin >= 0 && o.margin <= 2)) return 'margin must be 0..2';
  if (o.maxFaces !== undefined && !(Number.isInteger(o.maxFaces) && o.maxFaces >= 1 && o.maxFaces <= 256)) return 'maxFaces must be an integer 1..256';
  if (o.minFaceSize !== undefined && !(o.minFaceSize >= 1)) return 'minFaceSize must be ≥ 1';
  return null;
}

type FaceBox = { x1: number; y1: number; x2: number; y2: number; score: number };
type Timings = Omit<FacesResultMsg, 'type' | 'id'>;
const fitOf = (m: Manifest) => (m.input.resize === 'stretch' ? ('stretch' as const) : ('letterbox' as const));

/** Detector on one frame: faces in the frame's pixels (clipped, small ones dropped). */
async function detectFaces(det: Loaded, frame: Buffer, width: number, height: number, o: FacesOptions): Promise<FaceBox[]> {
  const dm = det.manifest;
  const spec = dm.detect!;
  const dw = dm.input.width, dh = dm.input.height;
  // detector input: plain stretch (UltraFace) or letterbox, as its manifest says
  const small = resampleRegion(frame, width, height, { left: 0, top: 0, width, height }, { width: dw, height: dh, fit: fitOf(dm), padColor: dm.input.padColor });
  const dets = await det.session.run({ [dm.input.name]: new ort.Tensor('float32', toTensor(small, dm.input, dm.preprocess), inputShape(dm)) }, [dm.output.name, spec.boxes]);
  const scores = dets[dm.output.name] as OrtTensor;
  const boxes = dets[spec.boxes] as OrtTensor;
  const found = decodeDetections(scores.data as Float32Array, boxes.data as Float32Array, dm.labels.length, {
    scoreThreshold: o.scoreThreshold ?? spec.scoreThreshold,
    iouThreshold: o.iouThreshold ?? spec.iouThreshold,
    frameWidth: dw,
    frameHeight: dh,
    maxDetections: o.maxFaces ?? FACE_DEFAULTS.maxFaces,
  });
  // back to frame pixels
  const fit = dm.input.resize === 'stretch' ? { x: 0, y: 0, sx: width / dw, sy: height / dh } : (() => {
    const f = letterbox(width, height, dw, dh);
    return { x: f.x, y: f.y, sx: 1 / f.scale, sy: 1 / f.scale };
  })();
  const minSize = o.minFaceSize ?? FACE_DEFAULTS.minFaceSize;
  return found
    .map((d) => ({
      x1: Math.max(0, (d.x1 - fit.x) * fit.sx),
      y1: Math.max(0, (d.y1 - fit.y) * fit.sy),
      x2: Math.min(width, (d.x2 - fit.x) * fit.sx),
      y2: Math.min(height, (d.y2 - fit.y) * fit.sy),
      score: d.score,
    }))
    .filter((b) => b.x2 - b.x1 >= minSize && b.y2 - b.y1 >= minSize);
}

interface Crop {
  frame: Buffer;
  width: number;
  height: number;
  rect: Rect;
}

/** Crops resized to the classifier input, then classified: one run when the batch axis allows. */
async function classifyCrops(cls: Loaded, crops: Crop[]): Promise<{ rows: Float32Array[]; runs: number; cropMs: number; classifyMs: number }> {
  const t1 = performance.now();
  const cm = cls.manifest;
  const cw = cm.input.width, ch = cm.input.height;
  const per = cw * ch * 3;
  const batch = new Float32Array(per * crops.length);
  const pixels = new Uint8Array(per);
  crops.forEach((c, i) => {
    resampleRegion(c.frame, c.width, c.height, c.rect, { width: cw, height: ch, fit: fitOf(cm), padColor: cm.input.padColor }, pixels);
    toTensor(pixels, cm.input, cm.preprocess, batch.subarray(i * per, (i + 1) * per));
  });
  const cropMs = performance.now() - t1;
  const t2 = performance.now();
  const rows: Float32Array[] = [];
  let runs = 0;
  if (crops.length) {
    const shape1 = inputShape(cm);
    const groups = hasDynamicBatch(cls.session) ? [[0, crops.length]] : crops.map((_, i) => [i, i + 1]);
    for (const [a, b] of groups) {
      const t = new ort.Tensor('float32', batch.subarray(a * per, b * per), [b - a, ...shape1.slice(1)]);
      const out = (await cls.session.run({ [cm.input.name]: t }, [cm.output.name]))[cm.output.name] as OrtTensor;
      runs++;
      const k = cm.labels.length;
      const data = out.data as Float32Array;
      for (let i = 0; i < b - a; i++) rows.push(data.subarray(i * k, (i + 1) * k));
    }
  }
  return { rows, runs, cropMs, classifyMs: performance.now() - t2 };
}

export interface FacesFrame {
  data: Buffer;
  width: number;
  height: number;
}

/**
 * Faces of one or more frames: the detector on each frame (its graph takes one at a time), then the
 * crops of all of them classified together. With several frames (a batch across cameras) the crop
 * and classifier times are shared: each frame reports the batch's totals, and inferMs is the batch's.
 */
export async function runFacesBatch(det: Loaded, cls: Loaded, frames: FacesFrame[], o: FacesOptions): Promise<Timings[]> {
  const t0 = performance.now();
  const margin = o.margin ?? FACE_DEFAULTS.margin;
  const perFrame: { faces: { f: FaceBox; rect: Rect }[]; detectMs: number }[] = [];
  for (const fr of frames) {
    const td = performance.now();
    const faces = (await detectFaces(det, fr.data, fr.width, fr.height, o))
      .map((f) => ({ f, rect: faceCrop(f, fr.width, fr.height, margin) }))
      .filter((x): x is { f: FaceBox; rect: Rect } => x.rect !== null);
    perFrame.push({ faces, detectMs: performance.now() - td });
  }
  const crops = perFrame.flatMap((p, i) => p.faces.map(({ rect }) => ({ frame: frames[i].data, width: frames[i].width, height: frames[i].height, rect })));
  const { rows, runs, cropMs, classifyMs } = await classifyCrops(cls, crops);
  const cm = cls.manifest;
  const inferMs = performance.now() - t0;
  let k = 0;
  return perFrame.map((p) => ({
    faces: p.faces.map(({ f, rect }): FaceResult => {
      const c = classify(rows[k++], cm.labels, cm.output.kind);
      return {
        box: [r1(f.x1), r1(f.y1), r1(f.x2 - f.x1), r1(f.y2 - f.y1)],
        crop: [rect.left, rect.top, rect.width, rect.height],
        detScore: Math.round(f.score * 1e4) / 1e4,
        label: c.label,
        score: c.score,
        scores: c.scores,
      };
    }),
    detectMs: p.detectMs,
    cropMs,
    classifyMs,
    classifierRuns: runs,
    inferMs,
  }));
}

/** Faces of one frame. */
export async function runFaces(det: Loaded, cls: Loaded, frame: Buffer, width: number, height: number, o: FacesOptions): Promise<Timings> {
  return (await runFacesBatch(det, cls, [{ data: frame, width, height }], o))[0];
}
