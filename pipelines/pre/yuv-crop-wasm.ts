// A face crop of an I420 frame straight into the classifier's tensor (D159): the pixels
// resampleRegionI420 makes (pre/yuv.ts: luma and chroma bilinear at every output pixel, BT.601
// limited range, clamped) and the manifest's x = (pixel·scale − mean) / std that toTensor then applies,
// in one pass with the WebAssembly kernels of D149 (the same integer maths; the last step in 32-bit
// floats, so a value may differ from the JS pair in its last bit). Only the rows and columns the crop's
// taps read are copied into the module's memory, not the frame. NHWC tensors, and a host whose
// WebAssembly has no SIMD, take the JS pair with the same result.
import { toTensor } from '../../models/preprocess.js';
import { kernels, memoryFor, places, type Kernels } from './yuv-tensor-wasm.js';
import { cropPlan, i420Planes, resampleRegionI420 } from './yuv.js';
import type { Region, ResampleTarget } from './resample.js';
import { channelMaths, type TensorSpec } from './yuv-tensor.js';

/** Smallest and largest value of two tap tables. */
function span(a: Int32Array, b: Int32Array): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < a.length; i++) (lo = Math.min(lo, a[i])), (hi = Math.max(hi, b[i]));
  return [lo, hi];
}

export class I420CropConverter {
  private readonly k: Kernels | null = kernels();
  private pixels: Uint8Array | null = null;

  /**
   * `region` of the srcW x srcH I420 frame as target.width x target.height x 3 floats, written into
   * `out` (e.g. one crop's place in a batch). Throws RangeError for a frame of the wrong length, a
   * region outside it or an `out` of the wrong length.
   */
  convert(src: Uint8Array, srcW: number, srcH: number, region: Region, target: ResampleTarget, spec: TensorSpec, out: Float32Array): Float32Array {
    const n = target.width * target.height;
    if (out.length !== n * 3) throw new RangeError(`output tensor has ${out.length} elements, expected ${n * 3}`);
    if (!this.k || spec.layout !== 'NCHW') {
      if (this.pixels?.length !== n * 3) this.pixels = new Uint8Array(n * 3);
      resampleRegionI420(src, srcW, srcH, region, target, this.pixels);
      return toTensor(this.pixels, { ...target, layout: spec.layout, colorOrder: spec.colorOrder }, { scale: spec.scale, mean: [...spec.mean], std: [...spec.std] }, out);
    }
    const p = i420Planes(src, srcW, srcH);
    const plan = cropPlan(srcW, srcH, region, target);
    const { fit } = plan;
    const fw = fit.width, fh = fit.height, dw = target.width;
    // the source window each plane's taps read
    const [lxa, lxb] = span(plan.lx0, plan.lx1), [lya, lyb] = span(plan.ly0, plan.ly1);
    const [cxa, cxb] = span(plan.cx0, plan.cx1), [cya, cyb] = span(plan.cy0, plan.cy1);
    const lW = lxb - lxa + 1, lH = lyb - lya + 1, cW = cxb - cxa + 1, cH = cyb - cya + 1;
    // memory: luma window | U window | V window | tap tables | one row of luma and chroma terms | tensor
    const m = places();
    const Y = m.take(lW * lH), U = m.take(cW * cH), V = m.take(cW * cH);
    const [lx0, lx1, lw, cx0, cx1, cwx, L, CR, CG, CB] = Array.from({ length: 10 }, () => m.take(fw * 4));
    const t = m.take(n * 12);
    const k = this.k;
    const mem = memoryFor(k, m.end);
    const u8 = new Uint8Array(mem), i32 = new Int32Array(mem);
    for (let y = 0; y < lH; y++) u8.set(p.y.subarray((lya + y) * srcW + lxa, (lya + y) * srcW + lxb + 1), Y + y * lW);
    for (let y = 0; y < cH; y++) {
      const row = (cya + y) * p.cw;
      u8.set(p.u.subarray(row + cxa, row + cxb + 1), U + y * cW);
      u8.set(p.v.subarray(row + cxa, row + cxb + 1), V + y * cW);
    }
    // column taps as offsets into a window row
    i32.set(plan.lx0.map((x) => x - lxa), lx0 / 4);
    i32.set(plan.lx1.map((x) => x - lxa), lx1 / 4);
    i32.set(plan.lwx, lw / 4);
    i32.set(plan.cx0.map((x) => x - cxa), cx0 / 4);
    i32.set(plan.cx1.map((x) => x - cxa), cx1 / 4);
    i32.set(plan.cwx, cwx / 4);
    const tensor = new Float32Array(mem, t, n * 3);
    const { a, b, out: outOf, pad } = channelMaths(spec, target.padColor);
    if (fw !== dw || fh !== target.height) for (let c = 0; c < 3; c++) tensor.subarray(outOf[c] * n, (outOf[c] + 1) * n).fill(pad[c]);
    const [oR, oG, oB] = outOf.map((o) => t + o * n * 4);
    for (let y = 0; y < fh; y++) {
      const c0 = (plan.cy0[y] - cya) * cW, c1 = (plan.cy1[y] - cya) * cW;
      k.chroma(U + c0, U + c1, V + c0, V + c1, cx0, cx1, cwx, fw, plan.cwy[y], CR, CG, CB);
      k.lumaAny(Y + (plan.ly0[y] - lya) * lW, Y + (plan.ly1[y] - lya) * lW, plan.lwy[y], fw, lx0, lx1, lw, L);
      const row = ((fit.y + y) * dw + fit.x) * 4;
      k.colourPx(L, CR, CG, CB, fw, oR + row, oG + row, oB + row, a[0], b[0], a[1], b[1], a[2], b[2]);
    }
    out.set(tensor);
    return out;
  }
}
