// The detector's input straight from an I420 frame, in one pass: luma bilinear at every output pixel,
// chroma bilinear once per 2x2 block of output pixels (at the block's centre: the frame is 4:2:0, so a
// finer chroma grid than that carries nothing the decoder had), BT.601 limited range → RGB as
// pre/yuv.ts, then the manifest's x = (pixel·scale − mean) / std written into the float tensor in its
// layout and colour order. No RGB24 image in between. Used for the detector input of every frame,
// where it halves the conversion's cost; face crops keep pre/yuv.ts (chroma at every pixel). Pure.
import { letterbox } from './tensor.js';
import { i420Planes } from './yuv.js';
import type { ResampleTarget } from './resample.js';

export interface TensorSpec {
  layout: 'NCHW' | 'NHWC';
  colorOrder: 'RGB' | 'BGR';
  scale: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** Tap pair for coordinate `s` (pixel centres at integers) clamped to [0, n-1]: [left, weight of right in 1/2048]. */
export function tap(s: number, n: number): [number, number] {
  if (s <= 0) return [0, 0];
  if (s >= n - 1) return [n - 1, 0];
  const a = Math.floor(s);
  return [a, Math.round((s - a) * 2048)];
}

/**
 * The whole srcW x srcH I420 frame resized to target (stretch, or letterbox with padColor) as a float
 * tensor of target.width x target.height x 3 (into `out` when given).
 */
export function i420ToTensor(src: Uint8Array, srcW: number, srcH: number, target: ResampleTarget, spec: TensorSpec, out?: Float32Array): Float32Array {
  const p = i420Planes(src, srcW, srcH);
  const { width: dw, height: dh } = target;
  const n = dw * dh;
  const t = out ?? new Float32Array(n * 3);
  if (t.length !== n * 3) throw new RangeError(`output tensor has ${t.length} elements, expected ${n * 3}`);
  // output channel k takes RGB channel srcCh[k]; x_k = pixel · a_k + b_k
  const srcCh = spec.colorOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const a = [0, 1, 2].map((k) => spec.scale / spec.std[k]);
  const b = [0, 1, 2].map((k) => -spec.mean[k] / spec.std[k]);
  const nchw = spec.layout === 'NCHW';
  // where channel k of pixel i goes: NCHW k·n + i, NHWC 3i + k
  const cs = nchw ? n : 1, ps = nchw ? 1 : 3;
  const fit = target.fit === 'stretch' ? { x: 0, y: 0, width: dw, height: dh } : letterbox(srcW, srcH, dw, dh);
  if (fit.width !== dw || fit.height !== dh) {
    // only the bands around the picture: the picture's own pixels are all written below
    const pad = target.padColor;
    const band = (x0: number, y0: number, x1: number, y1: number) => {
      for (let k = 0; k < 3; k++) {
        const v = pad[srcCh[k]] * a[k] + b[k];
        for (let y = y0; y < y1; y++) for (let i = y * dw + x0, e = y * dw + x1; i < e; i++) t[k * cs + i * ps] = v;
      }
    };
    band(0, 0, dw, fit.y);
    band(0, fit.y + fit.height, dw, dh);
    band(0, fit.y, fit.x, fit.y + fit.height);
    band(fit.x + fit.width, fit.y, dw, fit.y + fit.height);
  }
  const a0 = a[srcCh.indexOf(0)], b0 = b[srcCh.indexOf(0)], o0 = srcCh.indexOf(0) * cs;
  const a1 = a[srcCh.indexOf(1)], b1 = b[srcCh.indexOf(1)], o1 = srcCh.indexOf(1) * cs;
  const a2 = a[srcCh.indexOf(2)], b2 = b[srcCh.indexOf(2)], o2 = srcCh.indexOf(2) * cs;
  const fw = fit.width, fh = fit.height, sx = srcW / fw, sy = srcH / fh;
  // luma taps per output column; chroma taps per block of two columns
  const lx = new Int32Array(fw), lw = new Int32Array(fw);
  for (let x = 0; x < fw; x++) [lx[x], lw[x]] = tap((x + 0.5) * sx - 0.5, srcW);
  const bw = Math.ceil(fw / 2);
  const cx = new Int32Array(bw), cwx = new Int32Array(bw);
  for (let k = 0; k < bw; k++) [cx[k], cwx[k]] = tap(((2 * k + Math.min(2 * k + 2, fw)) / 2) * sx / 2 - 0.5, p.cw);
  // one row of luma at a time; a 2:1 shrink across (1280 → 640 columns) has every tap halfway between two pixels
  const L = new Int32Array(fw);
  let halves = srcW >= 2 * fw;
  for (let x = 0; x < fw && halves; x++) halves = lw[x] === 1024 && lx[x] === 2 * x && lx[x] + 1 < srcW;
  // per chroma block, the chroma terms of BT.601 (with the rounding constant): R, G and B add them to 298·(Y − 16)
  const CR = new Int32Array(bw), CG = new Int32Array(bw), CB = new Int32Array(bw);
  const Y = p.y, Up = p.u, Vp = p.v, W = srcW, CW = p.cw;
  for (let by = 0; by < fh; by += 2) {
    // the block row's chroma, once
    const [cy, cwy] = tap(((by + Math.min(by + 2, fh)) / 2) * sy / 2 - 0.5, p.ch);
    const r0 = cy * CW, r1 = Math.min(cy + 1, p.ch - 1) * CW, icwy = 2048 - cwy;
    for (let k = 0; k < bw; k++) {
      const c0 = cx[k], c1 = Math.min(c0 + 1, CW - 1), w = cwx[k], iw = 2048 - w;
      const d = (((Up[r0 + c0] * iw + Up[r0 + c1] * w) * icwy + (Up[r1 + c0] * iw + Up[r1 + c1] * w) * cwy + 2097152) >> 22) - 128;
      const e = (((Vp[r0 + c0] * iw + Vp[r0 + c1] * w) * icwy + (Vp[r1 + c0] * iw + Vp[r1 + c1] * w) * cwy + 2097152) >> 22) - 128;
      CR[k] = 409 * e + 128;
      CG[k] = -100 * d - 208 * e + 128;
      CB[k] = 516 * d + 128;
    }
    for (let y = by; y < by + 2 && y < fh; y++) {
      const [ly, wy] = tap((y + 0.5) * sy - 0.5, srcH);
      const y0 = ly * W, y1 = Math.min(ly + 1, srcH - 1) * W, iwy = 2048 - wy;
      if (halves) {
        // an exact 2:1 shrink across: every tap sits halfway between two pixels (weights 1024 of
        // 2048), so the pairs add and the rounding shift drops by 10 bits (same result)
        for (let x = 0, l0 = y0 + lx[0], l1 = y1 + lx[0]; x < fw; x++, l0 += 2, l1 += 2) L[x] = ((Y[l0] + Y[l0 + 1]) * iwy + (Y[l1] + Y[l1 + 1]) * wy + 2048) >> 12;
      } else {
        for (let x = 0; x < fw; x++) {
          const l0 = lx[x], l1 = l0 + 1 < W ? l0 + 1 : l0, w = lw[x], iw = 2048 - w;
          L[x] = ((Y[y0 + l0] * iw + Y[y0 + l1] * w) * iwy + (Y[y1 + l0] * iw + Y[y1 + l1] * w) * wy + 2097152) >> 22;
        }
      }
      let i = (fit.y + y) * dw + fit.x;
      for (let x = 0; x < fw; x++, i++) {
        const c = 298 * (L[x] - 16), h = x >> 1;
        let r = (c + CR[h]) >> 8, g = (c + CG[h]) >> 8, bl = (c + CB[h]) >> 8;
        r = r < 0 ? 0 : r > 255 ? 255 : r;
        g = g < 0 ? 0 : g > 255 ? 255 : g;
        bl = bl < 0 ? 0 : bl > 255 ? 255 : bl;
        const q = i * ps;
        t[o0 + q] = r * a0 + b0;
        t[o1 + q] = g * a1 + b1;
        t[o2 + q] = bl * a2 + b2;
      }
    }
  }
  return t;
}
