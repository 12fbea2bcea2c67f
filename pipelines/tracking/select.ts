// The engine worker's half of tracking, pure: given the camera's predicted track boxes (hints, sent
// with the faces request) and this frame's detections, which track each detection continues and
// which detections must be classified: a new face (no track), or a track that needs a reading (new,
// uncertain, K frames old), whose face grew to its `growArea`, or that is far from its prediction. A weak detection that continues no
// track is dropped. The supervisor's tracker then applies exactly this association.
import { associate, boxIou, type AssociationOptions, type Box } from './associate.js';

/** A matched face overlapping its predicted box less than this is classified again. */
export const JUMP_IOU = 0.5;

export interface TrackHint {
  id: number;
  /** Predicted box on the request's frame (frame pixels). */
  box: Box;
  /** The track needs a reading on this frame whatever its face's size. */
  read: boolean;
  /** The face needs a reading if its detected area (px²) reaches this. */
  growArea: number;
  /** Missed on the last detected frame (may be recovered by distance). */
  lost?: boolean;
}

export interface Selection {
  /** Indices of the detections kept (weak unmatched ones dropped), in order. */
  keep: number[];
  /** Per kept detection: its track id or null (a new face). */
  match: (number | null)[];
  /** Per kept detection: classify it on this frame? */
  classify: boolean[];
}

export function selectForReading(hints: readonly TrackHint[], dets: readonly { box: Box; detScore: number }[], o: AssociationOptions): Selection {
  const a = associate(hints, dets, o);
  const byId = new Map(hints.map((h) => [h.id, h]));
  const sel: Selection = { keep: [], match: [], classify: [] };
  dets.forEach((d, i) => {
    const id = a[i];
    if (id === null && d.detScore < o.high) return;
    const h = id === null ? undefined : byId.get(id)!;
    sel.keep.push(i);
    sel.match.push(id);
    // a face far from where its track was predicted (weak overlap) is read again: it may be someone else
    sel.classify.push(!h || h.read || d.box[2] * d.box[3] >= h.growArea || boxIou(d.box, h.box) < JUMP_IOU);
  });
  return sel;
}
