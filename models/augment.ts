// Augmentation geometry for head training: which flips and crops of an image to embed. Pure.

export interface Variant {
  /** Stable id, part of the embedding cache key. */
  id: string;
  flip: boolean;
  /** Crop in source pixels, applied before the flip and the model's letterbox; undefined = whole image. */
  crop?: { left: number; top: number; width: number; height: number };
}

/**
 * The variants of a width×height image: the original, its mirror, and `crops` crops keeping
 * `keep` of each side (at the four corners, then the centre), each also mirrored when `flipCrops`.
 * Crops never leave the image and never shrink below 1 px.
 */
export function variants(width: number, height: number, o: { crops: number; keep: number; flipCrops?: boolean }): Variant[] {
  if (!(o.keep > 0 && o.keep <= 1)) throw new RangeError(`keep must be in (0, 1], got ${o.keep}`);
  const out: Variant[] = [{ id: 'orig', flip: false }, { id: 'flip', flip: true }];
  const w = Math.max(1, Math.round(width * o.keep)), h = Math.max(1, Math.round(height * o.keep));
  const spots: [string, number, number][] = [
    ['tl', 0, 0],
    ['br', width - w, height - h],
    ['tr', width - w, 0],
    ['bl', 0, height - h],
    ['c', Math.floor((width - w) / 2), Math.floor((height - h) / 2)],
  ];
  for (const [name, left, top] of spots.slice(0, Math.min(o.crops, spots.length))) {
    const crop = { left, top, width: w, height: h };
    out.push({ id: `crop-${name}-${o.keep}`, flip: false, crop });
    if (o.flipCrops) out.push({ id: `crop-${name}-${o.keep}-flip`, flip: true, crop });
  }
  return out;
}
