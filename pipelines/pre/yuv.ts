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

/** Source taps for coordinate `s` (pixel centres at integers) in 0..n-1: [left, right, weight of right in 1/2048]. */
function taps(s: number, n: number): [number, number, number] {
  if (s <= 0) return [0, 0, 0];
  if (s >= n - 1) return [n - 1, n - 1, 0];
  const a = Math.floor(s);
  return [a, a + 1, Math.round((s - a) * 2048)];
}

/**
 * Resample `region` (in luma pixels) of a srcW x srcH I420 frame into a target-size RGB24 image (into
 * `out` when given): Y, U and V each bilinear at the output pixel's centre (chroma sited at the centre
 * of its 2x2 luma block), then converted. Same geometry and padding as resampleRegion for RGB24.
 */
export function resampleRegionI420(src: Uint8Array, srcW: number, srcH: number, region: Region, target: ResampleTarget, out?: Uint8Array): Uint8Array {
  const p = i420Planes(src, srcW, srcH);
  const { left, top, width: rw, height: rh } = region;
  if (!(rw >= 1 && rh >= 1 && left >= 0 && top >= 0 && left + rw <= srcW && top + rh <= srcH) || ![left, top, rw, rh].every(Number.isInteger))
    throw new RangeError(`region ${left},${top} ${rw}x${rh} is not inside the ${srcW}x${srcH} frame`);
  const { width: dw, height: dh } = target;
  const dst = out ?? new Uint8Array(dw * dh * 3);
  if (dst.length !== dw * dh * 3) throw new RangeError(`output has ${dst.length} bytes, expected ${dw * dh * 3}`);
  const fit = target.fit === 'stretch' ? { x: 0, y: 0, width: dw, height: dh } : letterbox(rw, rh, dw, dh);
  if (fit.width !== dw || fit.height !== dh) {
    const [r, g, b] = target.padColor;
    for (let i = 0; i < dst.length; i += 3) (dst[i] = r), (dst[i + 1] = g), (dst[i + 2] = b);
  }
  const cw = fit.width, chh = fit.height;
  // per output column: luma taps and chroma taps (offsets within a row) with their weights
  const lx0 = new Int32Array(cw), lx1 = new Int32Array(cw), lwx = new Int32Array(cw);
  const cx0 = new Int32Array(cw), cx1 = new Int32Array(cw), cwx = new Int32Array(cw);
  const sx = rw / cw;
  for (let x = 0; x < cw; x++) {
    const s = left + (x + 0.5) * sx - 0.5;
    const [a, b, w] = tapsIn(s, left, left + rw - 1);
    lx0[x] = a, lx1[x] = b, lwx[x] = w;
    const [ca, cb, cwt] = taps((s + 0.5) / 2 - 0.5, p.cw);
    cx0[x] = ca, cx1[x] = cb, cwx[x] = cwt;
  }
  const clamped = new Uint8ClampedArray(dst.buffer, dst.byteOffset, dst.length);
  const sy = rh / chh;
  for (let y = 0; y < chh; y++) {
    const s = top + (y + 0.5) * sy - 0.5;
    const [a, b, wy] = tapsIn(s, top, top + rh - 1);
    const [ca, cb, cwy] = taps((s + 0.5) / 2 - 0.5, p.ch);
    yuvRow(p.y, p.u, p.v, clamped, cw, a * srcW, b * srcW, wy, ca * p.cw, cb * p.cw, cwy, lx0, lx1, lwx, cx0, cx1, cwx, ((fit.y + y) * dw + fit.x) * 3);
  }
  return dst;
}

/** Taps clamped to [lo, hi] (a region's edge pixels repeat; nothing outside the region is read). */
function tapsIn(s: number, lo: number, hi: number): [number, number, number] {
  if (s <= lo) return [lo, lo, 0];
  if (s >= hi) return [hi, hi, 0];
  const a = Math.floor(s);
  return [a, a + 1, Math.round((s - a) * 2048)];
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

/** The whole I420 frame as packed RGB24 (for what is shown: the preview, a snapshot). */
export function i420ToRgb(src: Uint8Array, width: number, height: number, out?: Uint8Array): Uint8Array {
  return resampleRegionI420(src, width, height, { left: 0, top: 0, width, height }, { width, height, fit: 'stretch', padColor: [0, 0, 0] }, out);
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
