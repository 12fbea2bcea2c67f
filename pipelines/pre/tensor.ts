// Frame geometry for pre-processing. Pure maths, no I/O.
// (The manifest's pixel → tensor maths lives in models/preprocess.ts: it is part of the model format.)

export interface Fit {
  /** Scaled content size inside the target. */
  width: number;
  height: number;
  /** Offset of the content inside the target (padding on the left / top). */
  x: number;
  y: number;
  scale: number;
}

/**
 * Letterbox geometry: fit srcW x srcH inside dstW x dstH keeping the aspect ratio, centred, as
 * `scale=W:H:force_original_aspect_ratio=decrease,pad=W:H:(ow-iw)/2:(oh-ih)/2` does.
 */
export function letterbox(srcW: number, srcH: number, dstW: number, dstH: number): Fit {
  if (srcW <= 0 || srcH <= 0 || dstW <= 0 || dstH <= 0) throw new RangeError(`bad sizes ${srcW}x${srcH} -> ${dstW}x${dstH}`);
  const scale = Math.min(dstW / srcW, dstH / srcH);
  const width = Math.max(1, Math.min(dstW, Math.round(srcW * scale)));
  const height = Math.max(1, Math.min(dstH, Math.round(srcH * scale)));
  return { width, height, x: Math.floor((dstW - width) / 2), y: Math.floor((dstH - height) / 2), scale };
}

/**
 * A box [x, y, w, h] found on the letterboxed working frame, in the source frame's pixels:
 * undo the padding and the scale, clip to the source, one decimal.
 */
export function toSourceBox(box: readonly [number, number, number, number], srcW: number, srcH: number, workW: number, workH: number): [number, number, number, number] {
  const fit = letterbox(srcW, srcH, workW, workH);
  const sx = fit.width / srcW;
  const sy = fit.height / srcH;
  const x1 = Math.min(srcW, Math.max(0, (box[0] - fit.x) / sx));
  const y1 = Math.min(srcH, Math.max(0, (box[1] - fit.y) / sy));
  const x2 = Math.min(srcW, Math.max(0, (box[0] + box[2] - fit.x) / sx));
  const y2 = Math.min(srcH, Math.max(0, (box[1] + box[3] - fit.y) / sy));
  const r = (v: number) => Math.round(v * 10) / 10;
  return [r(x1), r(y1), r(x2 - x1), r(y2 - y1)];
}
