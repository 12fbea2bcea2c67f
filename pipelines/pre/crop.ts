// Face crop geometry: a detector box → the region cut from the full frame for the classifier.
// Pure maths, no pixels.

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * Expand a face box by `margin` (a fraction of the box's longer side, added on every side), make it
 * square around the box centre, then clip it to the frame. Integer pixels. A box that is clipped at
 * an edge stays clipped (not shifted), so the face stays centred where it can and the classifier's
 * letterbox pads the missing side. Returns null when nothing of the box lies in the frame.
 */
export function faceCrop(box: { x1: number; y1: number; x2: number; y2: number }, frameWidth: number, frameHeight: number, margin: number): Rect | null {
  if (!(frameWidth > 0 && frameHeight > 0)) throw new RangeError(`bad frame size ${frameWidth}x${frameHeight}`);
  if (!(margin >= 0)) throw new RangeError(`margin must be ≥ 0, got ${margin}`);
  const w = box.x2 - box.x1, h = box.y2 - box.y1;
  if (!(w > 0 && h > 0) || ![box.x1, box.y1, box.x2, box.y2].every(Number.isFinite)) return null;
  const side = Math.max(w, h) * (1 + 2 * margin);
  const cx = (box.x1 + box.x2) / 2, cy = (box.y1 + box.y2) / 2;
  const left = Math.max(0, Math.round(cx - side / 2));
  const top = Math.max(0, Math.round(cy - side / 2));
  const right = Math.min(frameWidth, Math.round(cx + side / 2));
  const bottom = Math.min(frameHeight, Math.round(cy + side / 2));
  if (right - left < 1 || bottom - top < 1) return null;
  return { left, top, width: right - left, height: bottom - top };
}
