// THE one place tracking reads a frame's pixels (snapshots of a person's best face). Frames are
// packed RGB24 in the supervisor today; when the frame path changes (YUV frames, frame bytes no longer
// in the supervisor: issue 13), only this function changes. It copies: the frame's pooled buffer
// may be reused as soon as the call returns.
import type { Frame } from '../sources/process-source.js';

export interface Pixels {
  /** Packed RGB24, width*height*3 bytes, a copy. */
  data: Buffer;
  width: number;
  height: number;
}

/** A copy of a rectangle of the frame (frame pixels; clipped to the frame; integers). */
export function copyFrameRegion(frame: Pick<Frame, 'data' | 'width' | 'height'>, rect: { left: number; top: number; width: number; height: number }): Pixels {
  const left = Math.max(0, Math.floor(rect.left));
  const top = Math.max(0, Math.floor(rect.top));
  const right = Math.min(frame.width, Math.ceil(rect.left + rect.width));
  const bottom = Math.min(frame.height, Math.ceil(rect.top + rect.height));
  const w = Math.max(0, right - left);
  const h = Math.max(0, bottom - top);
  const out = Buffer.allocUnsafe(w * h * 3);
  for (let y = 0; y < h; y++) {
    const src = ((top + y) * frame.width + left) * 3;
    frame.data.copy(out, y * w * 3, src, src + w * 3);
  }
  return { data: out, width: w, height: h };
}
