// Matching detections to predicted track boxes, ByteTrack style: first the confident detections
// against every track, then the weak ones (often a face half hidden or blurred) against the tracks
// still unmatched; a weak detection never starts a track. Greedy by IoU (highest pair first), which on
// the few faces of an entrance camera gives the same pairs as the Hungarian method in all but
// contrived ties, and is deterministic. Pure and shared: the supervisor's tracker and the engine
// worker (which classifies only what needs it) run exactly this on the same boxes.

export type Box = [number, number, number, number]; // x, y, w, h

export interface AssociationOptions {
  /** Detections at or above this detector score are "high" (first pass, may start tracks). */
  high: number;
  /** Least IoU for a match in the first pass. */
  iou: number;
  /** Least IoU for a match of a weak detection in the second pass. */
  lowIou: number;
}

export const ASSOCIATION_DEFAULTS: AssociationOptions = { high: 0.7, iou: 0.3, lowIou: 0.5 };

export function boxIou(a: Box, b: Box): number {
  const x1 = Math.max(a[0], b[0]);
  const y1 = Math.max(a[1], b[1]);
  const x2 = Math.min(a[0] + a[2], b[0] + b[2]);
  const y2 = Math.min(a[1] + a[3], b[1] + b[3]);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

function greedy(tracks: readonly { id: number; box: Box }[], dets: readonly { box: Box }[], detIdx: number[], trackFree: Set<number>, minIou: number, out: (number | null)[]): void {
  const pairs: { d: number; t: number; iou: number }[] = [];
  for (const d of detIdx)
    for (let t = 0; t < tracks.length; t++) {
      if (!trackFree.has(t)) continue;
      const v = boxIou(dets[d].box, tracks[t].box);
      if (v >= minIou) pairs.push({ d, t, iou: v });
    }
  // highest IoU first; ties broken by detection then track order (deterministic)
  pairs.sort((p, q) => q.iou - p.iou || p.d - q.d || p.t - q.t);
  const detDone = new Set<number>();
  for (const p of pairs) {
    if (detDone.has(p.d) || !trackFree.has(p.t)) continue;
    detDone.add(p.d);
    trackFree.delete(p.t);
    out[p.d] = tracks[p.t].id;
  }
}

/**
 * For each detection, the id of the track it continues, or null. `tracks` are the predicted boxes.
 * Unmatched high detections may start tracks; unmatched low ones are dropped by the tracker.
 */
export function associate(tracks: readonly { id: number; box: Box }[], dets: readonly { box: Box; detScore: number }[], o: AssociationOptions = ASSOCIATION_DEFAULTS): (number | null)[] {
  const out: (number | null)[] = dets.map(() => null);
  const free = new Set(tracks.map((_, i) => i));
  const high: number[] = [];
  const low: number[] = [];
  dets.forEach((d, i) => (d.detScore >= o.high ? high : low).push(i));
  greedy(tracks, dets, high, free, o.iou, out);
  greedy(tracks, dets, low, free, o.lowIou, out);
  return out;
}
