// The detector input from an I420 frame, as i420ToTensor (pre/yuv-tensor.ts) computes it, with its
// hot loops in WebAssembly SIMD (yuv-kernels.wat, D149): about four times faster on the 720p frames
// the worker gets, and the same integer maths. The tensor lives in the converter's own WebAssembly
// memory and is handed out as a view, so it is never copied: valid until the next convert() of the
// same converter. NHWC tensors, and any host whose WebAssembly has no SIMD, take the plain JS path
// (into the converter's own Float32Array) with the same result.
import { YUV_KERNELS_WASM } from './yuv-kernels-wasm.js';
import { i420ToTensor, tensorPlan, type TensorPlan, type TensorSpec } from './yuv-tensor.js';
import { frameBytes } from './yuv.js';
import type { ResampleTarget } from './resample.js';

export interface Kernels {
  memory: WebAssembly.Memory;
  chroma(u0: number, u1: number, v0: number, v1: number, cx0: number, cx1: number, cwx: number, n: number, cwy: number, cr: number, cg: number, cb: number): void;
  /** As chroma where block k reads samples 2k and 2k + 1 at equal weight (an exact 2:1 shrink across): 8 blocks a step. */
  chromaHalves(u0: number, u1: number, v0: number, v1: number, n: number, cwy: number, cr: number, cg: number, cb: number): void;
  lumaHalves(y0: number, y1: number, wy: number, n: number, l: number): void;
  lumaAny(y0: number, y1: number, wy: number, n: number, lx0: number, lx1: number, lw: number, l: number): void;
  colour(l: number, cr: number, cg: number, cb: number, n: number, o0: number, o1: number, o2: number, a0: number, b0: number, a1: number, b1: number, a2: number, b2: number): void;
  /** As colour, with the chroma terms per pixel (face crops, pre/yuv-crop-wasm.ts). */
  colourPx(l: number, cr: number, cg: number, cb: number, n: number, o0: number, o1: number, o2: number, a0: number, b0: number, a1: number, b1: number, a2: number, b2: number): void;
}

let compiled: WebAssembly.Module | null | undefined;
/** The kernels' module, compiled once per process; null where this WebAssembly lacks SIMD. */
function kernelModule(): WebAssembly.Module | null {
  if (compiled === undefined) compiled = WebAssembly.validate(YUV_KERNELS_WASM) ? new WebAssembly.Module(YUV_KERNELS_WASM) : null;
  return compiled;
}

/** A new instance of the kernels with its own memory; null where this WebAssembly lacks SIMD. */
export function kernels(): Kernels | null {
  const m = kernelModule();
  return m ? (new WebAssembly.Instance(m, {}).exports as unknown as Kernels) : null;
}

/** Whether this process converts with the WebAssembly kernels (false: the plain JS path). */
export function simdAvailable(): boolean {
  return kernelModule() !== null;
}

/** Places in a kernels instance's memory, handed out in order, each 16-byte aligned (SIMD loads). */
export function places(): { take(bytes: number): number; readonly end: number } {
  let at = 0;
  return {
    take(bytes: number) {
      const start = at;
      at += (bytes + 15) & ~15;
      return start;
    },
    get end() {
      return at;
    },
  };
}

/** `k`'s memory grown to hold at least `bytes` (growing keeps what is in it), as its buffer now. */
export function memoryFor(k: Kernels, bytes: number): ArrayBuffer {
  const grow = Math.ceil(bytes / 65536) - k.memory.buffer.byteLength / 65536;
  if (grow > 0) k.memory.grow(grow);
  return k.memory.buffer;
}

/**
 * Everything of a conversion that depends only on its geometry and maths, not on the pixels: the plan,
 * its row taps as tables, and where each part lies in the module's memory. A camera's frames all have
 * the same, so it is worked out on its first frame and kept (D161): before, each frame made it again,
 * ≈ 110 KB of short-lived objects a frame in the engine worker, and wrote the tap tables again.
 */
interface Layout {
  key: string;
  plan: TensorPlan;
  /** Luma taps of each output row; chroma taps of each block row (index by / 2). */
  ly: Int32Array;
  wy: Int32Array;
  cy: Int32Array;
  cwy: Int32Array;
  frame: number;
  lx0: number; lx1: number; lw: number; L: number;
  cx0: number; cx1: number; cwx: number; CR: number; CG: number; CB: number;
  /** Every chroma block reads samples 2k and 2k + 1 at weight 1024 (1280 → 640 across): chromaHalves. */
  chromaHalves: boolean;
  out: number;
  /** Bytes of memory it needs. */
  end: number;
}

const layoutKey = (srcW: number, srcH: number, t: ResampleTarget, s: TensorSpec) =>
  `${srcW}x${srcH} ${t.width}x${t.height} ${t.fit} ${t.padColor} ${s.layout} ${s.colorOrder} ${s.scale} ${s.mean} ${s.std}`;

function makeLayout(key: string, srcW: number, srcH: number, target: ResampleTarget, spec: TensorSpec): Layout {
  const plan = tensorPlan(srcW, srcH, target, spec);
  const fw = plan.fit.width, fh = plan.fit.height, bw = plan.cx.length;
  const ly = new Int32Array(fh), wy = new Int32Array(fh);
  for (let y = 0; y < fh; y++) [ly[y], wy[y]] = plan.row(y);
  const blocks = Math.ceil(fh / 2);
  const cy = new Int32Array(blocks), cwy = new Int32Array(blocks);
  for (let i = 0; i < blocks; i++) [cy[i], cwy[i]] = plan.blockRow(2 * i);
  // memory: frame | tap tables | one luma row, one block row of chroma terms | tensor
  const m = places();
  const frame = m.take(frameBytes('i420', srcW, srcH));
  const [lx0, lx1, lw, L] = [0, 0, 0, 0].map(() => m.take(fw * 4));
  const [cx0, cx1, cwx, CR, CG, CB] = [0, 0, 0, 0, 0, 0].map(() => m.take(bw * 4));
  const out = m.take(target.width * target.height * 12);
  const cw = Math.ceil(srcW / 2);
  const chromaHalves = plan.cx.every((c, k) => c === 2 * k && plan.cwx[k] === 1024 && c + 1 < cw);
  return { key, plan, ly, wy, cy, cwy, frame, lx0, lx1, lw, L, cx0, cx1, cwx, CR, CG, CB, chromaHalves, out, end: m.end };
}

export class I420TensorConverter {
  private readonly k: Kernels | null = kernels();
  private js: Float32Array | null = null;
  /** The last conversion's layout; its tap tables are in the module's memory. */
  private layout: Layout | null = null;

  /** The whole srcW x srcH I420 frame as target.width x target.height x 3 floats (a view: see above). */
  convert(src: Uint8Array, srcW: number, srcH: number, target: ResampleTarget, spec: TensorSpec): Float32Array {
    const n = target.width * target.height;
    if (!this.k || spec.layout !== 'NCHW') {
      if (this.js?.length !== n * 3) this.js = new Float32Array(n * 3);
      return i420ToTensor(src, srcW, srcH, target, spec, this.js);
    }
    const expected = frameBytes('i420', srcW, srcH);
    if (src.length !== expected) throw new RangeError(`frame has ${src.length} bytes, expected ${expected} for ${srcW}x${srcH} I420`);
    const k = this.k;
    const key = layoutKey(srcW, srcH, target, spec);
    const fresh = this.layout?.key !== key;
    const lay = fresh ? makeLayout(key, srcW, srcH, target, spec) : this.layout!;
    // a new layout's frame may overwrite the old one's tables: forget it until the new tables are in
    if (fresh) this.layout = null;
    const { plan } = lay;
    const { fit } = plan;
    const dw = target.width, fw = fit.width, fh = fit.height, bw = plan.cx.length;
    const cw = Math.ceil(srcW / 2), ch = Math.ceil(srcH / 2);
    const mem = memoryFor(k, lay.end);
    new Uint8Array(mem).set(src, lay.frame);
    if (fresh) {
      // the plan's taps, with each right-hand tap clamped as i420ToTensor clamps it (kept in memory
      // for the next frames of this layout: nothing else writes there)
      const i32 = new Int32Array(mem);
      i32.set(plan.lx, lay.lx0 / 4);
      i32.set(plan.lx.map((l) => Math.min(l + 1, srcW - 1)), lay.lx1 / 4);
      i32.set(plan.lw, lay.lw / 4);
      i32.set(plan.cx, lay.cx0 / 4);
      i32.set(plan.cx.map((c) => Math.min(c + 1, cw - 1)), lay.cx1 / 4);
      i32.set(plan.cwx, lay.cwx / 4);
      this.layout = lay;
    }
    const out = lay.out;
    const t = new Float32Array(mem, out, n * 3);
    if (fw !== dw || fh !== target.height) for (let c = 0; c < 3; c++) t.subarray(plan.out[c] * n, (plan.out[c] + 1) * n).fill(plan.pad[c]);
    const oR = out + plan.out[0] * n * 4, oG = out + plan.out[1] * n * 4, oB = out + plan.out[2] * n * 4;
    const [aR, aG, aB] = plan.a, [bR, bG, bB] = plan.b;
    const { lx0, lx1, lw, L, cx0, cx1, cwx, CR, CG, CB, ly, wy, cy, cwy } = lay;
    const Y = lay.frame, U = Y + srcW * srcH, V = U + cw * ch;
    for (let by = 0; by < fh; by += 2) {
      const r0 = cy[by >> 1] * cw, r1 = Math.min(cy[by >> 1] + 1, ch - 1) * cw;
      if (lay.chromaHalves) k.chromaHalves(U + r0, U + r1, V + r0, V + r1, bw, cwy[by >> 1], CR, CG, CB);
      else k.chroma(U + r0, U + r1, V + r0, V + r1, cx0, cx1, cwx, bw, cwy[by >> 1], CR, CG, CB);
      for (let y = by; y < by + 2 && y < fh; y++) {
        const y0 = Y + ly[y] * srcW, y1 = Y + Math.min(ly[y] + 1, srcH - 1) * srcW;
        if (plan.halves) k.lumaHalves(y0, y1, wy[y], fw, L);
        else k.lumaAny(y0, y1, wy[y], fw, lx0, lx1, lw, L);
        const row = ((fit.y + y) * dw + fit.x) * 4;
        k.colour(L, CR, CG, CB, fw, oR + row, oG + row, oB + row, aR, bR, aG, bG, aB, bB);
      }
    }
    return t;
  }
}
