// Resampling packed RGB24 pixels in plain JS: a region of a camera frame → the detector's or the
// classifier's input size. Bilinear with pixel centres aligned (OpenCV's INTER_LINEAR, which is what
// a cv2 loop uses), edge pixels repeated, never reading outside the region. Pure.
//
// It replaced sharp in the engine worker's faces path: for one 320x240 detector input or one
// 128x128 crop, the cost of sharp's pipeline set-up and thread hand-off was several times the
// arithmetic (docs/BENCHMARKS.md).
import { letterbox } from './tensor.js';

// Fixed point: weights in 1/2048ths, so every sum stays an exact 32-bit integer (255 * 2^22 < 2^31).
const ONE = 2048; // (lerpRow spells it out: 2048, 2048 * 2048 = 2^22, half of that 2097152)

export interface Region {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface ResampleTarget {
  width: number;
  height: number;
  /** stretch: the region fills the target; letterbox: aspect kept, centred, the rest padColor. */
  fit: 'stretch' | 'letterbox';
  padColor: readonly [number, number, number];
}

/**
 * Resample `region` of a srcW x srcH RGB24 frame into a target-size RGB24 image (into `out` when
 * given). Throws RangeError for a region outside the frame or a frame of the wrong length.
 */
export function resampleRegion(src: Uint8Array, srcW: number, srcH: number, region: Region, target: ResampleTarget, out?: Uint8Array): Uint8Array {
  const { left, top, width: rw, height: rh } = region;
  if (src.length !== srcW * srcH * 3) throw new RangeError(`frame has ${src.length} bytes, expected ${srcW * srcH * 3} for ${srcW}x${srcH} RGB24`);
  if (!(rw >= 1 && rh >= 1 && left >= 0 && top >= 0 && left + rw <= srcW && top + rh <= srcH) || ![left, top, rw, rh].every(Number.isInteger))
    throw new RangeError(`region ${left},${top} ${rw}x${rh} is not inside the ${srcW}x${srcH} frame`);
  const { width: dw, height: dh } = target;
  const dst = out ?? new Uint8Array(dw * dh * 3);
  if (dst.length !== dw * dh * 3) throw new RangeError(`output has ${dst.length} bytes, expected ${dw * dh * 3}`);
  const fit = target.fit === 'stretch' ? { x: 0, y: 0, width: dw, height: dh } : letterbox(rw, rh, dw, dh);
  if (fit.width !== dw || fit.height !== dh) {
    const [r, g, b] = target.padColor;
    for (let i = 0; i < dst.length; i += 3) {
      dst[i] = r;
      dst[i + 1] = g;
      dst[i + 2] = b;
    }
  }
  // Per output column: the two source columns (byte offsets) and the weight of the right one.
  const cw = fit.width, ch = fit.height;
  const x0 = new Int32Array(cw), x1 = new Int32Array(cw), wx = new Int32Array(cw);
  const sxScale = rw / cw;
  for (let x = 0; x < cw; x++) {
    const [a, b, w] = taps((x + 0.5) * sxScale - 0.5, rw);
    x0[x] = (left + a) * 3;
    x1[x] = (left + b) * 3;
    wx[x] = Math.round(w * ONE);
  }
  const syScale = rh / ch;
  const rowBytes = srcW * 3;
  for (let y = 0; y < ch; y++) {
    const [a, b, wyf] = taps((y + 0.5) * syScale - 0.5, rh);
    const wy = Math.round(wyf * ONE);
    lerpRow(src, dst, cw, (top + a) * rowBytes, (top + b) * rowBytes, x0, x1, wx, wy, ((fit.y + y) * dw + fit.x) * 3);
  }
  return dst;
}

/** One output row. Literals, not the module's constants: V8 re-reads (and hole-checks) those in the loop, 3× slower. */
function lerpRow(src: Uint8Array, dst: Uint8Array, cw: number, r0: number, r1: number, x0: Int32Array, x1: Int32Array, wx: Int32Array, wy: number, o: number): void {
  const iwy = 2048 - wy;
  for (let x = 0; x < cw; x++, o += 3) {
    const w = wx[x], iw = 2048 - w;
    const p0 = r0 + x0[x], p1 = r0 + x1[x], q0 = r1 + x0[x], q1 = r1 + x1[x];
    dst[o] = ((src[p0] * iw + src[p1] * w) * iwy + (src[q0] * iw + src[q1] * w) * wy + 2097152) >> 22;
    dst[o + 1] = ((src[p0 + 1] * iw + src[p1 + 1] * w) * iwy + (src[q0 + 1] * iw + src[q1 + 1] * w) * wy + 2097152) >> 22;
    dst[o + 2] = ((src[p0 + 2] * iw + src[p1 + 2] * w) * iwy + (src[q0 + 2] * iw + src[q1 + 2] * w) * wy + 2097152) >> 22;
  }
}

/** Source taps for a coordinate `s` (pixel centres at integers) in 0..n-1: [left, right, weight of right]. */
function taps(s: number, n: number): [number, number, number] {
  if (s <= 0) return [0, 0, 0];
  if (s >= n - 1) return [n - 1, n - 1, 0];
  const a = Math.floor(s);
  return [a, a + 1, s - a];
}
