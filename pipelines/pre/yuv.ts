// Frames in the decoder's own format: planar YUV 4:2:0 (I420: the Y plane, then U, then V, chroma at
// half size rounded up). Everything that needs RGB makes it here, only from the pixels it needs:
// the detector input and each face crop (bilinear from the full-resolution planes, then BT.601
// limited-range YUV → RGB, what ffmpeg's swscale does for H.264 by default), and the preview's or
// collect's picture. Pure.
import { letterbox } from './tensor.js';
import type { Region, ResampleTarget } from './resample.js';

/** How a frame's pixels are laid out: packed RGB24, or planar I420 (YUV 4:2:0). */
export type FrameFormat = 'rgb24' | 'i420';

/** Bytes of one width x height frame in `format`. */
export function frameBytes(format: FrameFormat, width: number, height: number): number {
  if (format === 'rgb24') return width * height * 3;
  return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
}

export interface Planes {
  y: Uint8Array;
  u: Uint8Array;
  v: Uint8Array;
  /** Chroma plane width and height. */
  cw: number;
  ch: number;
}

/** The three planes of an I420 frame (views, no copy); throws RangeError for a wrong length. */
export function i420Planes(data: Uint8Array, width: number, height: number): Planes {
  const cw = Math.ceil(width / 2), ch = Math.ceil(height / 2);
  const ySize = width * height, cSize = cw * ch;
  if (data.length !== ySize + 2 * cSize) throw new RangeError(`frame has ${data.length} bytes, expected ${ySize + 2 * cSize} for ${width}x${height} I420`);
  return { y: data.subarray(0, ySize), u: data.subarray(ySize, ySize + cSize), v: data.subarray(ySize + cSize), cw, ch };
}

/**
 * Where each pixel of a face crop comes from, worked out once for the JS pass below and the
 * WebAssembly one (pre/yuv-crop-wasm.ts, D159), so the two cannot differ in it: the picture's place in
 * the target, and per output column and row the luma taps (clamped to the region: nothing outside it is
 * read) and the chroma taps (chroma sited at the centre of its 2x2 luma block), weights in 1/2048.
 * Throws RangeError for a region outside the frame.
 */
export interface CropPlan {
  fit: { x: number; y: number; width: number; height: number };
  /** Per output column: luma taps (x in the frame) and weight of the right one; the same for chroma. */
  lx0: Int32Array; lx1: Int32Array; lwx: Int32Array;
  cx0: Int32Array; cx1: Int32Array; cwx: Int32Array;
  /** Per output row the same: luma rows ly0/ly1 and weight lwy, chroma rows cy0/cy1 and weight cwy. */
  ly0: Int32Array; ly1: Int32Array; lwy: Int32Array;
  cy0: Int32Array; cy1: Int32Array; cwy: Int32Array;
}

export function cropPlan(srcW: number, srcH: number, region: Region, target: ResampleTarget): CropPlan {
  const { left, top, width: rw, height: rh } = region;
  if (!(rw >= 1 && rh >= 1 && left >= 0 && top >= 0 && left + rw <= srcW && top + rh <= srcH) || ![left, top, rw, rh].every(Number.isInteger))
    throw new RangeError(`region ${left},${top} ${rw}x${rh} is not inside the ${srcW}x${srcH} frame`);
  const { width: dw, height: dh } = target;
  const fit = target.fit === 'stretch' ? { x: 0, y: 0, width: dw, height: dh } : letterbox(rw, rh, dw, dh);
  const axis = (n: number, from: number, size: number, planeSize: number) => {
    const l0 = new Int32Array(n), l1 = new Int32Array(n), lw = new Int32Array(n), c0 = new Int32Array(n), c1 = new Int32Array(n), cw = new Int32Array(n);
    const step = size / n;
    for (let i = 0; i < n; i++) {
      const s = from + (i + 0.5) * step - 0.5;
      tapsInto(l0, l1, lw, i, s, from, from + size - 1);
      tapsInto(c0, c1, cw, i, (s + 0.5) / 2 - 0.5, 0, planeSize - 1);
    }
    return [l0, l1, lw, c0, c1, cw] as const;
  };
  const [lx0, lx1, lwx, cx0, cx1, cwx] = axis(fit.width, left, rw, Math.ceil(srcW / 2));
  const [ly0, ly1, lwy, cy0, cy1, cwy] = axis(fit.height, top, rh, Math.ceil(srcH / 2));
  return { fit, lx0, lx1, lwx, cx0, cx1, cwx, ly0, ly1, lwy, cy0, cy1, cwy };
}

/**
 * Resample `region` (in luma pixels) of a srcW x srcH I420 frame into a target-size RGB24 image (into
 * `out` when given): Y, U and V each bilinear at the output pixel's centre (chroma sited at the centre
 * of its 2x2 luma block), then converted. Same geometry and padding as resampleRegion for RGB24.
 */
export function resampleRegionI420(src: Uint8Array, srcW: number, srcH: number, region: Region, target: ResampleTarget, out?: Uint8Array): Uint8Array {
  const p = i420Planes(src, srcW, srcH);
  const plan = cropPlan(srcW, srcH, region, target);
  const { width: dw, height: dh } = target;
  const dst = out ?? new Uint8Array(dw * dh * 3);
  if (dst.length !== dw * dh * 3) throw new RangeError(`output has ${dst.length} bytes, expected ${dw * dh * 3}`);
  const { fit } = plan;
  if (fit.width !== dw || fit.height !== dh) {
    const [r, g, b] = target.padColor;
    for (let i = 0; i < dst.length; i += 3) (dst[i] = r), (dst[i + 1] = g), (dst[i + 2] = b);
  }
  const clamped = new Uint8ClampedArray(dst.buffer, dst.byteOffset, dst.length);
  for (let y = 0; y < fit.height; y++)
    yuvRow(p.y, p.u, p.v, clamped, fit.width, plan.ly0[y] * srcW, plan.ly1[y] * srcW, plan.lwy[y], plan.cy0[y] * p.cw, plan.cy1[y] * p.cw, plan.cwy[y], plan.lx0, plan.lx1, plan.lwx, plan.cx0, plan.cx1, plan.cwx, ((fit.y + y) * dw + fit.x) * 3);
  return dst;
}

/**
 * Source taps for coordinate `s` (pixel centres at integers) clamped to [lo, hi], written at `i`: left,
 * right, weight of right in 1/2048 (a region's edge pixels repeat; nothing outside it is read).
 */
function tapsInto(left: Int32Array, right: Int32Array, weight: Int32Array, i: number, s: number, lo: number, hi: number): void {
  if (s <= lo || s >= hi) {
    left[i] = right[i] = s <= lo ? lo : hi;
    weight[i] = 0;
    return;
  }
  const a = Math.floor(s);
  left[i] = a;
  right[i] = a + 1;
  weight[i] = Math.round((s - a) * 2048);
}

/** One output row: bilinear Y, U, V (fixed point, 1/2048 weights), then BT.601 limited range → RGB. Literals for speed (see resample.ts). */
function yuvRow(
  Y: Uint8Array, U: Uint8Array, V: Uint8Array, dst: Uint8ClampedArray, cw: number,
  r0: number, r1: number, wy: number, c0: number, c1: number, cwy: number,
  lx0: Int32Array, lx1: Int32Array, lwx: Int32Array, cx0: Int32Array, cx1: Int32Array, cwx: Int32Array, o: number,
): void {
  const iwy = 2048 - wy, icwy = 2048 - cwy;
  for (let x = 0; x < cw; x++, o += 3) {
    const w = lwx[x], iw = 2048 - w, a = lx0[x], b = lx1[x];
    const yy = ((Y[r0 + a] * iw + Y[r0 + b] * w) * iwy + (Y[r1 + a] * iw + Y[r1 + b] * w) * wy + 2097152) >> 22;
    const cwv = cwx[x], icw = 2048 - cwv, ca = cx0[x], cb = cx1[x];
    const uu = ((U[c0 + ca] * icw + U[c0 + cb] * cwv) * icwy + (U[c1 + ca] * icw + U[c1 + cb] * cwv) * cwy + 2097152) >> 22;
    const vv = ((V[c0 + ca] * icw + V[c0 + cb] * cwv) * icwy + (V[c1 + ca] * icw + V[c1 + cb] * cwv) * cwy + 2097152) >> 22;
    const c = 298 * (yy - 16), d = uu - 128, e = vv - 128;
    dst[o] = (c + 409 * e + 128) >> 8;
    dst[o + 1] = (c - 100 * d - 208 * e + 128) >> 8;
    dst[o + 2] = (c + 516 * d + 128) >> 8;
  }
}

/**
 * The whole I420 frame as packed RGB24 (for what is shown: the preview, the dashboard's live view, a
 * snapshot): the pixels resampleRegionI420 makes of the whole frame, bit for bit, with what the
 * frame's own size allows. Luma is read as it is (its taps weigh 0), and each chroma row is blended
 * vertically once per output row instead of once per pixel (the same sums: the one rounding is last).
 */
export function i420ToRgb(src: Uint8Array, width: number, height: number, out?: Uint8Array): Uint8Array {
  const p = i420Planes(src, width, height);
  const plan = cropPlan(width, height, { left: 0, top: 0, width, height }, { width, height, fit: 'stretch', padColor: [0, 0, 0] });
  const dst = out ?? new Uint8Array(width * height * 3);
  if (dst.length !== width * height * 3) throw new RangeError(`output has ${dst.length} bytes, expected ${width * height * 3}`);
  const clamped = new Uint8ClampedArray(dst.buffer, dst.byteOffset, dst.length);
  const us = new Int32Array(p.cw), vs = new Int32Array(p.cw);
  for (let y = 0; y < height; y++) {
    const c0 = plan.cy0[y] * p.cw, c1 = plan.cy1[y] * p.cw, wy = plan.cwy[y], iwy = 2048 - wy;
    for (let k = 0; k < p.cw; k++) {
      us[k] = p.u[c0 + k] * iwy + p.u[c1 + k] * wy;
      vs[k] = p.v[c0 + k] * iwy + p.v[c1 + k] * wy;
    }
    yuvRowWhole(p.y, us, vs, clamped, width, y * width, plan.cx0, plan.cx1, plan.cwx, y * width * 3);
  }
  return dst;
}

/**
 * One row of i420ToRgb: luma as it is, chroma from the row's vertically blended sums. The YUV → RGB
 * lines are yuvRow's, written out again: one shared pixel function made both rows ≈ 5 % slower here.
 */
function yuvRowWhole(Y: Uint8Array, us: Int32Array, vs: Int32Array, dst: Uint8ClampedArray, n: number, r: number, cx0: Int32Array, cx1: Int32Array, cwx: Int32Array, o: number): void {
  for (let x = 0; x < n; x++, o += 3) {
    const cwv = cwx[x], icw = 2048 - cwv, ca = cx0[x], cb = cx1[x];
    const uu = (us[ca] * icw + us[cb] * cwv + 2097152) >> 22;
    const vv = (vs[ca] * icw + vs[cb] * cwv + 2097152) >> 22;
    const c = 298 * (Y[r + x] - 16), d = uu - 128, e = vv - 128;
    dst[o] = (c + 409 * e + 128) >> 8;
    dst[o + 1] = (c - 100 * d - 208 * e + 128) >> 8;
    dst[o + 2] = (c + 516 * d + 128) >> 8;
  }
}

/** RGB24 pixels of a frame in either format (the same buffer when it is RGB24 already). */
export function toRgb24(f: { data: Buffer; width: number; height: number; format?: FrameFormat }): Buffer {
  if ((f.format ?? 'rgb24') === 'rgb24') return f.data;
  const rgb = i420ToRgb(f.data, f.width, f.height);
  return Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
}

/** RGB24 → I420 (BT.601 limited range, chroma the mean of each 2x2 block). For tests and fixtures. */
export function rgbToI420(rgb: Uint8Array, width: number, height: number): Buffer {
  const out = Buffer.alloc(frameBytes('i420', width, height));
  const p = i420Planes(out, width, height);
  const Yf = (r: number, g: number, b: number) => ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      p.y[y * width + x] = Yf(rgb[i], rgb[i + 1], rgb[i + 2]);
    }
  for (let cy = 0; cy < p.ch; cy++)
    for (let cx = 0; cx < p.cw; cx++) {
      let r = 0, g = 0, b = 0, n = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
        const x = 2 * cx + dx, y = 2 * cy + dy;
        if (x >= width || y >= height) continue;
        const i = (y * width + x) * 3;
        r += rgb[i], g += rgb[i + 1], b += rgb[i + 2], n++;
      }
      r /= n, g /= n, b /= n;
      p.u[cy * p.cw + cx] = Math.round((-38 * r - 74 * g + 112 * b) / 256 + 128);
      p.v[cy * p.cw + cx] = Math.round((112 * r - 94 * g - 18 * b) / 256 + 128);
    }
  return out;
}
