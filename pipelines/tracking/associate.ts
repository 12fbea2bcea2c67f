// Matching detections to predicted track boxes, ByteTrack style: first the confident detections
// against every track, then the weak ones (often a face half hidden or blurred) against the tracks
// still unmatched; a weak detection never starts a track. Greedy by IoU (highest pair first), which on
// the few faces of an entrance camera gives the same pairs as the Hungarian method in all but
// contrived ties, and is deterministic. A third pass recovers lost tracks by distance (see recover). Pure and shared: the supervisor's tracker and the engine
// worker (which classifies only what needs it) run exactly this on the same boxes.

export type Box = [number, number, number, number]; // x, y, w, h

/** A track as the association sees it: its predicted box, and whether it missed its last detected frames. */
export interface TrackBox {
  id: number;
  box: Box;
  /** Not matched on the last detected frame (hidden, or the detector missed it). */
  lost?: boolean;
}

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

/**
 * A face does not change its height by more than SIZE_GATE from one frame to the next (a person walks,
 * the camera does not zoom): a box that overlaps but has a very different size is someone else (a
 * person stepping in where another stood). A lost track is allowed twice the change. 1.4, not 1.3: the
 * detector's own box on a small face can jump that much between frames (detector 2.1.0 on a face
 * growing from 80 to 100 px: 61 → 83 px in one frame, D152).
 */
export const SIZE_GATE = 1.4;
function sizeGate(det: Box, t: TrackBox): boolean {
  const r = det[3] / Math.max(1, t.box[3]);
  const g = t.lost ? SIZE_GATE * SIZE_GATE : SIZE_GATE;
  return r <= g && r >= 1 / g;
}

function greedy(tracks: readonly TrackBox[], dets: readonly { box: Box }[], detIdx: number[], trackFree: Set<number>, minIou: number, out: (number | null)[]): void {
  const pairs: { d: number; t: number; iou: number }[] = [];
  for (const d of detIdx)
    for (let t = 0; t < tracks.length; t++) {
      if (!trackFree.has(t)) continue;
      const v = boxIou(dets[d].box, tracks[t].box);
      if (v >= minIou && sizeGate(dets[d].box, tracks[t])) pairs.push({ d, t, iou: v });
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
 * Recovery of a lost track (third pass, confident faces only): a face hidden behind another for a
 * while comes back where its prediction drifted (its box shrank and slid while it was being covered).
 * It matches when its centre is within `RECOVER_DIST` of the predicted box's height from the
 * predicted centre and its height within a factor RECOVER_SIZE. Nearest first. Only a lost track
 * whose predicted box overlaps a track that is not lost can be hidden behind someone: a face lost in
 * the open (it left, or the detector missed it) is not taken over by whoever appears nearby (D152).
 */
const RECOVER_DIST = 1;
const RECOVER_SIZE = 1.6;
function behindSomeone(tracks: readonly TrackBox[], t: number): boolean {
  return tracks.some((o, i) => i !== t && !o.lost && boxIou(o.box, tracks[t].box) > 0);
}
function recover(tracks: readonly TrackBox[], dets: readonly { box: Box }[], detIdx: number[], trackFree: Set<number>, out: (number | null)[]): void {
  const pairs: { d: number; t: number; dist: number }[] = [];
  const hidden = tracks.flatMap((tr, t) => (trackFree.has(t) && tr.lost && behindSomeone(tracks, t) ? [t] : []));
  for (const d of detIdx) {
    if (out[d] !== null) continue;
    const b = dets[d].box;
    for (const t of hidden) {
      const p = tracks[t].box;
      const h = Math.max(1, p[3]);
      const dist = Math.hypot(b[0] + b[2] / 2 - (p[0] + p[2] / 2), b[1] + b[3] / 2 - (p[1] + p[3] / 2)) / h;
      const ratio = b[3] / h;
      if (dist <= RECOVER_DIST && ratio <= RECOVER_SIZE && ratio >= 1 / RECOVER_SIZE) pairs.push({ d, t, dist });
    }
  }
  pairs.sort((p, q) => p.dist - q.dist || p.d - q.d || p.t - q.t);
  const done = new Set<number>();
  for (const p of pairs) {
    if (done.has(p.d) || !trackFree.has(p.t)) continue;
    done.add(p.d);
    trackFree.delete(p.t);
    out[p.d] = tracks[p.t].id;
  }
}

/**
 * For each detection, the id of the track it continues, or null. `tracks` are the predicted boxes.
 * Unmatched high detections may start tracks; unmatched low ones are dropped by the tracker.
 */
export function associate(tracks: readonly TrackBox[], dets: readonly { box: Box; detScore: number }[], o: AssociationOptions = ASSOCIATION_DEFAULTS): (number | null)[] {
  const out: (number | null)[] = dets.map(() => null);
  const free = new Set(tracks.map((_, i) => i));
  const high: number[] = [];
  const low: number[] = [];
  dets.forEach((d, i) => (d.detScore >= o.high ? high : low).push(i));
  greedy(tracks, dets, high, free, o.iou, out);
  greedy(tracks, dets, low, free, o.lowIou, out);
  recover(tracks, dets, high, free, out);
  return out;
}
