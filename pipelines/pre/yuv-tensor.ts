// The detector's input straight from an I420 frame, in one pass: luma bilinear at every output pixel,
// chroma bilinear once per 2x2 block of output pixels (at the block's centre: the frame is 4:2:0, so a
// finer chroma grid than that carries nothing the decoder had), BT.601 limited range → RGB as
// pre/yuv.ts, then the manifest's x = (pixel·scale − mean) / std written into the float tensor in its
// layout and colour order. No RGB24 image in between. Used for the detector input of every frame,
// where it halves the conversion's cost; face crops keep pre/yuv.ts's maths (chroma at every pixel; pre/yuv-crop-wasm.ts). Pure.
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
function tap(s: number, n: number): [number, number] {
  if (s <= 0) return [0, 0];
  if (s >= n - 1) return [n - 1, 0];
  const a = Math.floor(s);
  return [a, Math.round((s - a) * 2048)];
}

/**
 * What the JS pass below and the WebAssembly one (pre/yuv-tensor-wasm.ts) work out before any pixel,
 * so the two cannot differ in it: where the picture goes, each colour's maths, and the taps.
 */
export interface TensorPlan {
  /** The picture inside the target: all of it (stretch) or letterboxed. */
  fit: { x: number; y: number; width: number; height: number };
  /** Per RGB channel c: x = pixel · a[c] + b[c], into output channel out[c]; pad[c] is the padding's x. */
  a: number[];
  b: number[];
  out: number[];
  pad: number[];
  /** Luma taps per output column: left source pixel, weight of the right one (1/2048). */
  lx: Int32Array;
  lw: Int32Array;
  /** Chroma taps per block of two output columns. */
  cx: Int32Array;
  cwx: Int32Array;
  /** An exact 2:1 shrink across (1280 → 640 columns): every luma tap halfway between two pixels. */
  halves: boolean;
  /** Luma taps of output row y; chroma taps of the block row starting at output row by. */
  row(y: number): [number, number];
  blockRow(by: number): [number, number];
}

/** Per RGB channel c: its output channel out[c], x = pixel · a[c] + b[c], and the padding's x pad[c] (also face crops, pre/yuv-crop-wasm.ts). Pure. */
export function channelMaths(spec: TensorSpec, padColor: readonly [number, number, number]): Pick<TensorPlan, 'a' | 'b' | 'out' | 'pad'> {
  // output channel k takes RGB channel srcCh[k] and has x_k = pixel · scale / std_k − mean_k / std_k
  const srcCh = spec.colorOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const out = [0, 1, 2].map((c) => srcCh.indexOf(c));
  const a = out.map((k) => spec.scale / spec.std[k]);
  const b = out.map((k) => -spec.mean[k] / spec.std[k]);
  return { a, b, out, pad: [0, 1, 2].map((c) => padColor[c] * a[c] + b[c]) };
}

export function tensorPlan(srcW: number, srcH: number, target: ResampleTarget, spec: TensorSpec): TensorPlan {
  const { width: dw, height: dh } = target;
  const fit = target.fit === 'stretch' ? { x: 0, y: 0, width: dw, height: dh } : letterbox(srcW, srcH, dw, dh);
  const { a, b, out, pad } = channelMaths(spec, target.padColor);
  const fw = fit.width, fh = fit.height, sx = srcW / fw, sy = srcH / fh;
  const cw = Math.ceil(srcW / 2), ch = Math.ceil(srcH / 2);
  const lx = new Int32Array(fw), lw = new Int32Array(fw);
  for (let x = 0; x < fw; x++) [lx[x], lw[x]] = tap((x + 0.5) * sx - 0.5, srcW);
  const bw = Math.ceil(fw / 2);
  const cx = new Int32Array(bw), cwx = new Int32Array(bw);
  for (let k = 0; k < bw; k++) [cx[k], cwx[k]] = tap(((2 * k + Math.min(2 * k + 2, fw)) / 2) * sx / 2 - 0.5, cw);
  let halves = srcW >= 2 * fw;
  for (let x = 0; x < fw && halves; x++) halves = lw[x] === 1024 && lx[x] === 2 * x && lx[x] + 1 < srcW;
  return {
    fit, a, b, out, pad, lx, lw, cx, cwx, halves,
    row: (y) => tap((y + 0.5) * sy - 0.5, srcH),
    blockRow: (by) => tap(((by + Math.min(by + 2, fh)) / 2) * sy / 2 - 0.5, ch),
  };
}

/** Only the bands around the picture (its own pixels are all written by the pass) get the padding. */
function padBands(t: Float32Array, plan: TensorPlan, dw: number, dh: number, cs: number, ps: number): void {
  const { fit } = plan;
  const band = (x0: number, y0: number, x1: number, y1: number) => {
    for (let c = 0; c < 3; c++) {
      const v = plan.pad[c], o = plan.out[c] * cs;
      for (let y = y0; y < y1; y++) for (let i = y * dw + x0, e = y * dw + x1; i < e; i++) t[o + i * ps] = v;
    }
  };
  band(0, 0, dw, fit.y);
  band(0, fit.y + fit.height, dw, dh);
  band(0, fit.y, fit.x, fit.y + fit.height);
  band(fit.x + fit.width, fit.y, dw, fit.y + fit.height);
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
  const plan = tensorPlan(srcW, srcH, target, spec);
  const { fit, lx, lw, cx, cwx, halves } = plan;
  const nchw = spec.layout === 'NCHW';
  // where channel k of pixel i goes: NCHW k·n + i, NHWC 3i + k
  const cs = nchw ? n : 1, ps = nchw ? 1 : 3;
  if (fit.width !== dw || fit.height !== dh) padBands(t, plan, dw, dh, cs, ps);
  const [a0, a1, a2] = plan.a, [b0, b1, b2] = plan.b;
  const [o0, o1, o2] = plan.out.map((k) => k * cs);
  const fw = fit.width, fh = fit.height, bw = cx.length;
  // one row of luma at a time
  const L = new Int32Array(fw);
  // per chroma block, the chroma terms of BT.601 (with the rounding constant): R, G and B add them to 298·(Y − 16)
  const CR = new Int32Array(bw), CG = new Int32Array(bw), CB = new Int32Array(bw);
  const Y = p.y, Up = p.u, Vp = p.v, W = srcW, CW = p.cw;
  for (let by = 0; by < fh; by += 2) {
    // the block row's chroma, once
    const [cy, cwy] = plan.blockRow(by);
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
      const [ly, wy] = plan.row(y);
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
