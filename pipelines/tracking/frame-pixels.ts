// THE one place tracking reads a frame's pixels (snapshots of a person's best face). Faces frames are
// I420 at the camera's size (issue 13; RGB24 still accepted); when the frame path changes again
// (frame bytes no longer in the supervisor), only this function changes. It copies: the frame's pooled
// buffer may be reused as soon as the call returns.
import type { Frame } from '../sources/process-source.js';
import { resampleRegionI420 } from '../pre/yuv.js';

export interface Pixels {
  /** Packed RGB24, width*height*3 bytes, a copy. */
  data: Buffer;
  width: number;
  height: number;
}

/** A copy of a rectangle of the frame (frame pixels; clipped to the frame; integers). */
export function copyFrameRegion(frame: Pick<Frame, 'data' | 'width' | 'height'> & { format?: 'rgb24' | 'i420' }, rect: { left: number; top: number; width: number; height: number }): Pixels {
  const left = Math.max(0, Math.floor(rect.left));
  const top = Math.max(0, Math.floor(rect.top));
  const right = Math.min(frame.width, Math.ceil(rect.left + rect.width));
  const bottom = Math.min(frame.height, Math.ceil(rect.top + rect.height));
  const w = Math.max(0, right - left);
  const h = Math.max(0, bottom - top);
  if (frame.format === 'i420') {
    if (!w || !h) return { data: Buffer.alloc(0), width: w, height: h };
    const rgb = resampleRegionI420(frame.data, frame.width, frame.height, { left, top, width: w, height: h }, { width: w, height: h, fit: 'stretch', padColor: [0, 0, 0] });
    return { data: Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), width: w, height: h };
  }
  const out = Buffer.allocUnsafe(w * h * 3);
  for (let y = 0; y < h; y++) {
    const src = ((top + y) * frame.width + left) * 3;
    frame.data.copy(out, y * w * 3, src, src + w * 3);
  }
  return { data: out, width: w, height: h };
}
