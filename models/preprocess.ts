// The manifest's preprocessing applied to pixels: part of the model format, pure maths.
import type { ManifestInput, Preprocess } from './manifest.js';

/**
 * Convert packed 8-bit RGB pixels (width*height*3, row-major, as ffmpeg's rgb24 or sharp's raw
 * output) into a float32 tensor: x = (pixel*scale - mean[c]) / std[c], channels in the manifest's
 * colour order, laid out NCHW or NHWC. `out` may be passed to reuse a buffer.
 */
export function toTensor(rgb: Uint8Array, input: Pick<ManifestInput, 'width' | 'height' | 'layout' | 'colorOrder'>, pre: Preprocess, out?: Float32Array): Float32Array {
  const { width: w, height: h } = input;
  const n = w * h;
  if (rgb.length !== n * 3) throw new RangeError(`frame has ${rgb.length} bytes, expected ${n * 3} for ${w}x${h} RGB24`);
  const t = out ?? new Float32Array(n * 3);
  if (t.length !== n * 3) throw new RangeError(`output tensor has ${t.length} elements, expected ${n * 3}`);
  // Source channel for each output channel: BGR reverses the order.
  const src = input.colorOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const a = [0, 1, 2].map((c) => pre.scale / pre.std[c]);
  const b = [0, 1, 2].map((c) => -pre.mean[c] / pre.std[c]);
  if (input.layout === 'NCHW') {
    for (let c = 0; c < 3; c++) {
      const s = src[c], ac = a[c], bc = b[c], base = c * n;
      for (let i = 0; i < n; i++) t[base + i] = rgb[i * 3 + s] * ac + bc;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const p = i * 3;
      t[p] = rgb[p + src[0]] * a[0] + b[0];
      t[p + 1] = rgb[p + src[1]] * a[1] + b[1];
      t[p + 2] = rgb[p + src[2]] * a[2] + b[2];
    }
  }
  return t;
}
