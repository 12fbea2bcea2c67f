// Detector outputs → face boxes: score threshold, box decoding, hard NMS. Pure maths, part of the
// model format (the manifest's `detect` section says how to read the outputs).

/** A detection in pixels of the frame the detector saw (after undoing its stretch). */
export interface Detection {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  score: number;
  /** Index into the manifest's labels (≥ 1; 0 is background). */
  classIndex: number;
}

export interface DecodeOptions {
  scoreThreshold: number;
  iouThreshold: number;
  /** Frame size the normalised boxes are scaled to. */
  frameWidth: number;
  frameHeight: number;
  /** Keep at most this many candidates (best scores) before NMS, and this many after. */
  maxCandidates?: number;
  maxDetections?: number;
  /** Boxes narrower or lower than this (pixels, after clipping to the frame) are dropped. */
  minSize?: number;
  /**
   * NMS across classes: a box suppresses overlapping boxes of any class (one box per object, the
   * best-scoring class wins). For face detectors with several face classes (face / masked_face).
   */
  classAgnostic?: boolean;
}

/** Intersection over union of two corner-form boxes (0 when either is empty). */
export function iou(a: Pick<Detection, 'x1' | 'y1' | 'x2' | 'y2'>, b: Pick<Detection, 'x1' | 'y1' | 'x2' | 'y2'>): number {
  const iw = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const ih = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const area = (d: typeof a) => Math.max(0, d.x2 - d.x1) * Math.max(0, d.y2 - d.y1);
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Hard NMS per class (or across classes with classAgnostic): highest score first; a box overlapping
 * a kept box of the same class by more than iouThreshold is suppressed. Returns the kept boxes, best first.
 */
export function nms(dets: readonly Detection[], iouThreshold: number, maxDetections = Infinity, classAgnostic = false): Detection[] {
  const sorted = [...dets].sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  for (const d of sorted) {
    if (kept.length >= maxDetections) break;
    if (!kept.some((k) => (classAgnostic || k.classIndex === d.classIndex) && iou(k, d) > iouThreshold)) kept.push(d);
  }
  return kept;
}

/**
 * Decode "corners-normalized" detector outputs (UltraFace with post-processing):
 * scores [N × C] softmax probabilities (class 0 = background), boxes [N × 4] = x1, y1, x2, y2 in 0..1
 * of the stretched input. Boxes are scaled to the frame, clipped to it, and dropped when they are
 * non-finite, outside the frame or degenerate (< minSize px). Then hard NMS per class.
 */
export function decodeDetections(scores: ArrayLike<number>, boxes: ArrayLike<number>, numClasses: number, o: DecodeOptions): Detection[] {
  if (numClasses < 2) throw new RangeError(`a detector needs at least 2 classes (background + one), got ${numClasses}`);
  if (scores.length % numClasses !== 0) throw new RangeError(`scores has ${scores.length} values, not a multiple of ${numClasses} classes`);
  const n = scores.length / numClasses;
  if (boxes.length !== n * 4) throw new RangeError(`boxes has ${boxes.length} values for ${n} anchors (expected ${n * 4})`);
  const W = o.frameWidth, H = o.frameHeight;
  const minSize = o.minSize ?? 1;
  const cands: Detection[] = [];
  for (let i = 0; i < n; i++) {
    for (let c = 1; c < numClasses; c++) {
      const s = scores[i * numClasses + c];
      if (!(s > o.scoreThreshold)) continue; // also drops NaN
      const x1 = clamp(boxes[i * 4] * W, 0, W);
      const y1 = clamp(boxes[i * 4 + 1] * H, 0, H);
      const x2 = clamp(boxes[i * 4 + 2] * W, 0, W);
      const y2 = clamp(boxes[i * 4 + 3] * H, 0, H);
      if (![x1, y1, x2, y2].every(Number.isFinite)) continue;
      if (x2 - x1 < minSize || y2 - y1 < minSize) continue;
      cands.push({ x1, y1, x2, y2, score: s, classIndex: c });
    }
  }
  const maxC = o.maxCandidates ?? 500;
  const top = cands.length > maxC ? cands.sort((a, b) => b.score - a.score).slice(0, maxC) : cands;
  return nms(top, o.iouThreshold, o.maxDetections ?? 100, o.classAgnostic ?? false);
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);
