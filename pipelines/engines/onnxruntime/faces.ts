// The faces request inside the onnxruntime worker: one frame (or a batch across cameras) in,
// classified faces out.
// frame (RGB24, or I420 straight from the decoder) → resize to the detector input (from I420 in one pass
// to the tensor, pre/yuv-tensor-wasm.ts) → detector →
// decode + NMS → for each face: crop (margin, squared, clipped) from the full-resolution frame, resized
// to the classifier input (from I420 planes straight into the tensor, pre/yuv-crop-wasm.ts; RGB24
// through pre/resample.ts) →
// classifier (one batched run when the graph has a dynamic batch axis) → labels.
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { ort } from './ort.js';
import { isDynamicBatch } from './session.js';
import { inputShape, type Manifest } from '../../../models/manifest.js';
import { toTensor } from '../../../models/preprocess.js';
import { classify } from '../../../models/classify.js';
import { decide } from '../../../models/decision.js';
import { decodeDetections } from '../../../models/detect.js';
import { faceCrop, type Rect } from '../../pre/crop.js';
import { letterbox } from '../../pre/tensor.js';
import { resampleRegion } from '../../pre/resample.js';
import { frameBytes, type FrameFormat } from '../../pre/yuv.js';
import { I420TensorConverter } from '../../pre/yuv-tensor-wasm.js';
import { I420CropConverter } from '../../pre/yuv-crop-wasm.js';
import type { FaceResult, FacesOptions, FacesResultMsg, FacesTracking } from '../protocol.js';
import { selectForReading } from '../../tracking/select.js';


export interface Loaded {
  session: InferenceSession;
  manifest: Manifest;
}

export const FACE_DEFAULTS = { margin: 0.2, maxFaces: 32, minFaceSize: 8 } as const;

/** Does the graph's first input take any batch size (symbolic or -1 first dimension)? */
export function hasDynamicBatch(session: InferenceSession): boolean {
  const m = session.inputMetadata[0];
  return !!m?.isTensor && isDynamicBatch(m.shape[0]);
}

const r1 = (x: number) => Math.round(x * 10) / 10;

/** Check sizes and options before any work; returns a message for a bad request, or null. */
export function facesRequestProblem(width: number, height: number, bodyBytes: number, o: FacesOptions, format: FrameFormat = 'rgb24'): string | null {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16 || width > 8192 || height > 8192)
    return `frame size ${width}x${height} must be integers 16..8192`;
  if (format !== 'rgb24' && format !== 'i420') return `frame format ${JSON.stringify(format)} is not one of rgb24, i420`;
  const expected = frameBytes(format, width, height);
  if (bodyBytes !== expected) return `frame has ${bodyBytes} bytes, expected ${expected} for ${width}x${height} ${format.toUpperCase()}`;
  const unit = (v: number | undefined) => v === undefined || (v > 0 && v < 1);
  if (!unit(o.scoreThreshold) || !unit(o.iouThreshold)) return 'scoreThreshold and iouThreshold must be in (0, 1)';
  if (o.margin !== undefined && !(o.margin >= 0 && o.margin <= 2)) return 'margin must be 0..2';
  if (o.maxFaces !== undefined && !(Number.isInteger(o.maxFaces) && o.maxFaces >= 1 && o.maxFaces <= 256)) return 'maxFaces must be an integer 1..256';
  if (o.minFaceSize !== undefined && !(o.minFaceSize >= 1)) return 'minFaceSize must be ≥ 1';
  if (o.detectOnly !== undefined && typeof o.detectOnly !== 'boolean') return 'detectOnly must be a boolean';
  return null;
}

/** `crops` of a request (split layouts, D112): integer regions inside the frame; a message for bad ones, or null. */
export function cropsProblem(crops: unknown, width: number, height: number): string | null {
  if (crops === undefined) return null;
  if (!Array.isArray(crops) || crops.length > 256) return 'crops must be a list of at most 256 [left, top, width, height]';
  for (const [i, c] of crops.entries())
    if (!Array.isArray(c) || c.length !== 4 || !c.every(Number.isInteger) || !(c[0] >= 0 && c[1] >= 0 && c[2] >= 1 && c[3] >= 1 && c[0] + c[2] <= width && c[1] + c[3] <= height))
      return `crops[${i}] must be integers [left, top, width, height] inside the ${width}x${height} frame`;
  return null;
}

/** Tracking hints (issue 14, D40): checked shape and ranges; a message for a bad one, or null. */
export function trackingProblem(t: FacesTracking | undefined): string | null {
  if (t === undefined) return null;
  const unit = (v: unknown) => typeof v === 'number' && v > 0 && v < 1;
  if (typeof t !== 'object' || t === null || !Array.isArray(t.tracks)) return 'tracking.tracks must be an array';
  if (!unit(t.high) || !unit(t.low) || !unit(t.iou) || !unit(t.lowIou)) return 'tracking.high, low, iou and lowIou must be in (0, 1)';
  for (const h of t.tracks)
    if (!h || !Number.isInteger(h.id) || !Array.isArray(h.box) || h.box.length !== 4 || !h.box.every(Number.isFinite) || typeof h.read !== 'boolean' || !Number.isFinite(h.growArea))
      return 'each tracking.tracks entry needs an integer id, box [x, y, w, h], read (boolean) and growArea';
  return null;
}

/**
 * The detector input's pixels and tensor, kept per detector and reused frame after frame: a 640x480
 * input is 0.9 MB of pixels and 3.7 MB of floats, and allocating them per frame cost more CPU than
 * filling them (round 4). I420 frames go through a converter (pre/yuv-tensor-wasm.ts, D149) that owns
 * its tensor; RGB24 frames through a pixel buffer and a tensor. A request that overlaps one in progress
 * (a batch's frames) takes another set: up to POOLED sets are kept per detector, beyond that they are
 * made for the request and dropped.
 */
interface Scratch {
  rgb?: Uint8Array;
  tensor?: Float32Array;
  yuv?: I420TensorConverter;
  inUse: boolean;
}
const scratch = new WeakMap<Loaded, Scratch[]>();
const POOLED = 8;
function takeScratch(det: Loaded): { s: Scratch; release: () => void } {
  const pool = scratch.get(det) ?? [];
  scratch.set(det, pool);
  let s = pool.find((x) => !x.inUse);
  if (!s) {
    s = { inUse: false };
    if (pool.length < POOLED) pool.push(s);
  }
  const own = s;
  own.inUse = true;
  return { s: own, release: () => void (own.inUse = false) };
}

type FaceBox = { x1: number; y1: number; x2: number; y2: number; score: number; classIndex: number };
type Timings = Omit<FacesResultMsg, 'type' | 'id'>;
const fitOf = (m: Manifest) => (m.input.resize === 'stretch' ? ('stretch' as const) : ('letterbox' as const));

/** Detector on one frame: faces in the frame's pixels (clipped, small ones dropped). */
async function detectFaces(det: Loaded, frame: Buffer, width: number, height: number, o: FacesOptions, format: FrameFormat): Promise<FaceBox[]> {
  const dm = det.manifest;
  const spec = dm.detect!;
  const dw = dm.input.width, dh = dm.input.height;
  // detector input: plain stretch (UltraFace) or letterbox, as its manifest says, into reused buffers
  const buf = takeScratch(det);
  let dets: InferenceSession.OnnxValueMapType;
  try {
    const target = { width: dw, height: dh, fit: fitOf(dm), padColor: dm.input.padColor };
    const n = dw * dh * 3;
    const s = buf.s;
    // I420: one pass from the planes to the tensor (pre/yuv-tensor-wasm.ts); RGB24: resample, then the manifest's maths
    let tensor: Float32Array;
    if (format === 'i420') tensor = (s.yuv ??= new I420TensorConverter()).convert(frame, width, height, target, { ...dm.input, ...dm.preprocess });
    else {
      if (s.rgb?.length !== n) [s.rgb, s.tensor] = [new Uint8Array(n), new Float32Array(n)];
      tensor = toTensor(resampleRegion(frame, width, height, { left: 0, top: 0, width, height }, target, s.rgb), dm.input, dm.preprocess, s.tensor);
    }
    dets = await det.session.run({ [dm.input.name]: new ort.Tensor('float32', tensor, inputShape(dm)) }, [dm.output.name, spec.boxes]);
  } finally {
    buf.release();
  }
  const scores = dets[dm.output.name] as OrtTensor;
  const boxes = dets[spec.boxes] as OrtTensor;
  const found = decodeDetections(scores.data as Float32Array, boxes.data as Float32Array, dm.labels.length, {
    // with tracking (issue 14), weaker faces too: they may continue a track (ByteTrack's low pass)
    scoreThreshold: o.tracking ? Math.min(o.tracking.low, o.scoreThreshold ?? spec.scoreThreshold) : (o.scoreThreshold ?? spec.scoreThreshold),
    iouThreshold: o.iouThreshold ?? spec.iouThreshold,
    frameWidth: dw,
    frameHeight: dh,
    maxDetections: o.maxFaces ?? FACE_DEFAULTS.maxFaces,
    classAgnostic: true, // one box per face, whatever face class (face / masked_face) the detector gives it
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
      classIndex: d.classIndex,
    }))
    .filter((b) => b.x2 - b.x1 >= minSize && b.y2 - b.y1 >= minSize);
}

interface Crop {
  frame: Buffer;
  width: number;
  height: number;
  format: FrameFormat;
  rect: Rect;
}

/** The face crops' converter: convert() is synchronous, so one serves the worker's requests in turn. */
const cropper = new I420CropConverter();

/** Crops resized to the classifier input, then classified: one run when the batch axis allows. */
async function classifyCrops(cls: Loaded, crops: Crop[]): Promise<{ rows: Float32Array[]; runs: number; cropMs: number; classifyMs: number }> {
  const t1 = performance.now();
  const cm = cls.manifest;
  const cw = cm.input.width, ch = cm.input.height;
  const per = cw * ch * 3;
  const batch = new Float32Array(per * crops.length);
  const target = { width: cw, height: ch, fit: fitOf(cm), padColor: cm.input.padColor };
  const spec = { ...cm.input, ...cm.preprocess };
  let pixels: Uint8Array | undefined;
  crops.forEach((c, i) => {
    const into = batch.subarray(i * per, (i + 1) * per);
    // I420 (the daemon's frames): from the planes into the tensor in one pass (D159)
    if (c.format === 'i420') return void cropper.convert(c.frame, c.width, c.height, c.rect, target, spec, into);
    toTensor(resampleRegion(c.frame, c.width, c.height, c.rect, target, (pixels ??= new Uint8Array(per))), cm.input, cm.preprocess, into);
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
  /** default rgb24 */
  format?: FrameFormat;
  /** Per-frame tracking hints in a batch (else the request's `tracking`). */
  tracking?: FacesTracking;
  /** Split layouts (D112): classify these regions, no detector (else the request's `crops`). */
  crops?: [number, number, number, number][];
}

/**
 * Faces of one or more frames: the detector on each frame (its graph takes one at a time), then the
 * crops of all of them classified together. With several frames (a batch across cameras) the crop
 * and classifier times are shared: each frame reports the batch's totals, and inferMs is the batch's.
 * Split layouts (D112): a frame with `crops` skips the detector (det may be null when all have them);
 * `o.detectOnly` skips the classifier (cls may be null).
 */
export async function runFacesBatch(det: Loaded | null, cls: Loaded | null, frames: FacesFrame[], o: FacesOptions): Promise<Timings[]> {
  const t0 = performance.now();
  const margin = o.margin ?? FACE_DEFAULTS.margin;
  type Found = { f: FaceBox; rect: Rect; match?: number | null; read: boolean };
  const perFrame: { faces: Found[]; detectMs: number; tracked: boolean; detected: boolean }[] = [];
  for (const fr of frames) {
    const td = performance.now();
    const given = fr.crops ?? o.crops;
    const tracking = given ? undefined : (fr.tracking ?? o.tracking);
    let faces: Found[] = given
      ? given.map(([left, top, width, height]) => ({ f: { x1: left, y1: top, x2: left + width, y2: top + height, score: 0, classIndex: 1 }, rect: { left, top, width, height }, read: true }))
      : (await detectFaces(det!, fr.data, fr.width, fr.height, { ...o, tracking }, fr.format ?? 'rgb24'))
          .map((f) => ({ f, rect: faceCrop(f, fr.width, fr.height, margin), read: true }))
          .filter((x): x is Found => x.rect !== null);
    if (tracking) {
      // issue 14: associate with the predicted tracks; classify only new faces and tracks that need a reading
      const sel = selectForReading(tracking.tracks, faces.map(({ f }) => ({ box: [f.x1, f.y1, f.x2 - f.x1, f.y2 - f.y1], detScore: f.score })), tracking);
      faces = sel.keep.map((i, k) => ({ ...faces[i], match: sel.match[k], read: sel.classify[k] }));
    }
    perFrame.push({ faces, detectMs: performance.now() - td, tracked: !!tracking, detected: !given });
  }
  const crops = o.detectOnly ? [] : perFrame.flatMap((p, i) => p.faces.filter((x) => x.read).map(({ rect }) => ({ frame: frames[i].data, width: frames[i].width, height: frames[i].height, format: frames[i].format ?? 'rgb24', rect })));
  const { rows, runs, cropMs, classifyMs } = crops.length ? await classifyCrops(cls!, crops) : { rows: [], runs: 0, cropMs: 0, classifyMs: 0 };
  const inferMs = performance.now() - t0;
  let k = 0;
  return perFrame.map((p) => ({
    faces: p.faces.map(({ f, rect, match, read }): FaceResult => {
      const cm = cls?.manifest;
      const c = read && cm && !o.detectOnly ? decide(classify(rows[k++], cm.labels, cm.output.kind), cm.decision) : { label: '', score: 0, scores: {} };
      return {
        box: [r1(f.x1), r1(f.y1), r1(f.x2 - f.x1), r1(f.y2 - f.y1)],
        crop: [rect.left, rect.top, rect.width, rect.height],
        detScore: Math.round(f.score * 1e4) / 1e4,
        ...(p.detected && det && det.manifest.labels.length > 2 ? { detLabel: det.manifest.labels[f.classIndex] } : {}),
        label: c.label,
        score: c.score,
        scores: c.scores,
        ...(p.tracked ? { match: match ?? null, classified: read } : {}),
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
export async function runFaces(det: Loaded | null, cls: Loaded | null, frame: Buffer, width: number, height: number, o: FacesOptions, format: FrameFormat = 'rgb24'): Promise<Timings> {
  return (await runFacesBatch(det, cls, [{ data: frame, width, height, format }], o))[0];
}
