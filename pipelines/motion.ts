// Motion gating for faces mode: is this frame different enough from the last frame that went to the
// face detector to be worth detecting again? Pure (no I/O, time passed in).
//
// A frame is reduced to a small luma thumbnail (about 64 columns, aspect kept) by SAMPLING 4 pixels
// per cell (at 1/4 and 3/4 of the cell in each direction), so a 1280x720 frame costs 64x36x4 = 9,216
// pixel reads instead of 921,600. Two thumbnails differ by the fraction of cells whose luma moved by
// more than `pixelThreshold`. The reference is the thumbnail of the LAST DETECTED frame, not of the
// previous frame: slow drift accumulates against it and eventually triggers a detection, and a
// refresh every `maxReuseSec` bounds how stale a reused result can be (docs/DECISIONS.md D24).

export interface MotionOptions {
  /** A cell counts as changed when its luma moved by more than this (0..255). */
  pixelThreshold: number;
  /** Detect when more than this fraction of the cells changed (0..1). */
  areaThreshold: number;
  /** Detect at least this often (s), even when nothing moved. */
  maxReuseSec: number;
  /** Thumbnail columns (default THUMB_COLUMNS); rows follow the frame's aspect. */
  columns?: number;
}

/** Defaults, measured on the entrance clip (docs/DECISIONS.md D24). */
export const MOTION_DEFAULTS = { pixelThreshold: 30, areaThreshold: 0.005, maxReuseSec: 2 } as const;
export const THUMB_COLUMNS = 64;

/** Thumbnail grid for a frame: `columns` wide (at most the frame's width), rows by aspect, at least 1. */
export function thumbSize(width: number, height: number, columns = THUMB_COLUMNS): { cols: number; rows: number } {
  const cols = Math.max(1, Math.min(columns, width));
  const rows = Math.max(1, Math.min(height, Math.round((cols * height) / width)));
  return { cols, rows };
}

/**
 * Luma thumbnail of a frame: one byte per cell, row-major, cols x rows (thumbSize). Each cell is the
 * rounded mean luma of 4 sampled pixels: BT.601 weights 77/150/29 of 256 on packed RGB24; on I420
 * the Y plane itself, stretched from its limited range (16..235) to 0..255 so thresholds mean the same.
 */
export function lumaThumbnail(data: Uint8Array, width: number, height: number, columns = THUMB_COLUMNS, format: 'rgb24' | 'i420' = 'rgb24'): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new RangeError(`bad frame size ${width}x${height}`);
  const bpp = format === 'i420' ? 1 : 3;
  if (data.length < width * height * bpp) throw new RangeError(`frame data is ${data.length} bytes, ${width}x${height} ${format === 'i420' ? 'I420 luma' : 'RGB24'} needs ${width * height * bpp}`);
  if (format === 'i420') return planeThumbnail(data, width, height, columns);
  const { cols, rows, xs, ys } = sampleGrid(width, height, columns);
  const out = new Uint8Array(cols * rows);
  for (let r = 0; r < rows; r++) {
    const ra = ys[2 * r] * width * 3, rb = ys[2 * r + 1] * width * 3;
    for (let c = 0; c < cols; c++) {
      const a = xs[2 * c] * 3, b = xs[2 * c + 1] * 3;
      const p = ra + a, q = ra + b, u = rb + a, v = rb + b;
      // 4 samples x 256 x luma: divide by 1024, rounded
      const s = 77 * (data[p] + data[q] + data[u] + data[v]) + 150 * (data[p + 1] + data[q + 1] + data[u + 1] + data[v + 1]) + 29 * (data[p + 2] + data[q + 2] + data[u + 2] + data[v + 2]);
      out[r * cols + c] = (s + 512) >> 10;
    }
  }
  return out;
}

/** lumaThumbnail of a Y plane (one byte per pixel, limited range). */
function planeThumbnail(y: Uint8Array, width: number, height: number, columns: number): Uint8Array {
  const { cols, rows, xs, ys } = sampleGrid(width, height, columns);
  const out = new Uint8ClampedArray(cols * rows);
  for (let r = 0; r < rows; r++) {
    const ra = ys[2 * r] * width, rb = ys[2 * r + 1] * width;
    for (let c = 0; c < cols; c++) {
      const a = xs[2 * c], b = xs[2 * c + 1];
      // (sum/4 - 16) * 255/219, rounded: 4 samples, so (sum - 64) * 255 / 876
      out[r * cols + c] = ((y[ra + a] + y[ra + b] + y[rb + a] + y[rb + b] - 64) * 255) / 876;
    }
  }
  return new Uint8Array(out.buffer);
}

/**
 * The pixels a thumbnail samples: for each cell 2 columns (xs[2c], xs[2c + 1]) and 2 rows (ys[2r],
 * ys[2r + 1]), at 1/4 and 3/4 of the cell. Pure.
 */
function sampleGrid(width: number, height: number, columns: number): { cols: number; rows: number; xs: Int32Array; ys: Int32Array } {
  const { cols, rows } = thumbSize(width, height, columns);
  const quarters = (size: number, cells: number) => {
    const at = new Int32Array(cells * 2);
    for (let i = 0; i < cells; i++) {
      const a = Math.floor((i * size) / cells), b = Math.floor(((i + 1) * size) / cells);
      at[2 * i] = a + Math.floor((b - a) / 4);
      at[2 * i + 1] = a + Math.floor((3 * (b - a)) / 4);
    }
    return at;
  };
  return { cols, rows, xs: quarters(width, cols), ys: quarters(height, rows) };
}

/** Fraction (0..1) of cells whose |a - b| > pixelThreshold; 1 when the thumbnails differ in size. */
export function changedFraction(a: Uint8Array, b: Uint8Array, pixelThreshold: number): number {
  if (a.length !== b.length || a.length === 0) return 1;
  let n = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > pixelThreshold) n++;
  return n / a.length;
}

export type MotionDecision = 'detect' | 'reuse';
/** Why: no reference yet (or a new frame size), enough cells changed, the refresh interval passed, or still. */
export type MotionReason = 'first' | 'motion' | 'refresh' | 'still';

/** What the gate made of one frame. Pass it back to detected() when the frame's result arrives. */
export interface MotionSample {
  decision: MotionDecision;
  reason: MotionReason;
  /** Changed fraction against the reference (1 when there is none). */
  changed: number;
  thumb: Uint8Array;
  width: number;
  height: number;
}

/** Check options; returns the problems (empty when fine). */
export function motionProblems(o: MotionOptions): string[] {
  const out: string[] = [];
  if (!(Number.isInteger(o.pixelThreshold) && o.pixelThreshold >= 0 && o.pixelThreshold <= 254)) out.push(`pixelThreshold must be an integer 0..254, got ${o.pixelThreshold}`);
  if (!(typeof o.areaThreshold === 'number' && o.areaThreshold >= 0 && o.areaThreshold < 1)) out.push(`areaThreshold must be a number 0..<1, got ${o.areaThreshold}`);
  if (!(typeof o.maxReuseSec === 'number' && o.maxReuseSec > 0)) out.push(`maxReuseSec must be a number > 0, got ${o.maxReuseSec}`);
  if (o.columns !== undefined && !(Number.isInteger(o.columns) && o.columns >= 1)) out.push(`columns must be an integer ≥ 1, got ${o.columns}`);
  return out;
}

/**
 * One camera's gate. check()/decide() a frame as it arrives; call detected() with its sample when a
 * frame's detection result has arrived: only then does its thumbnail become the reference (a frame
 * that was dropped or failed never does). reset() after a camera restart.
 */
export class MotionGate {
  private ref: { thumb: Uint8Array; width: number; height: number; atMs: number } | null = null;
  readonly opts: Required<MotionOptions>;

  constructor(opts: MotionOptions) {
    const p = motionProblems(opts);
    if (p.length) throw new RangeError(p.join('; '));
    this.opts = { columns: THUMB_COLUMNS, ...opts };
  }

  check(data: Uint8Array, width: number, height: number, nowMs: number, format: 'rgb24' | 'i420' = 'rgb24'): MotionSample {
    return this.checkThumb(lumaThumbnail(data, width, height, this.opts.columns, format), width, height, nowMs);
  }

  /** check() for a frame whose thumbnail (this gate's columns) is already made. */
  checkThumb(thumb: Uint8Array, width: number, height: number, nowMs: number): MotionSample {
    const ref = this.ref;
    if (!ref || ref.width !== width || ref.height !== height) return { decision: 'detect', reason: 'first', changed: 1, thumb, width, height };
    const changed = changedFraction(thumb, ref.thumb, this.opts.pixelThreshold);
    const reason: MotionReason = changed > this.opts.areaThreshold ? 'motion' : nowMs - ref.atMs >= this.opts.maxReuseSec * 1000 ? 'refresh' : 'still';
    return { decision: reason === 'still' ? 'reuse' : 'detect', reason, changed, thumb, width, height };
  }

  decide(data: Uint8Array, width: number, height: number, nowMs: number): MotionDecision {
    return this.check(data, width, height, nowMs).decision;
  }

  /** The frame of `s` was detected (its result arrived): it is the new reference, as of nowMs. */
  detected(s: Pick<MotionSample, 'thumb' | 'width' | 'height'>, nowMs: number): void {
    this.ref = { thumb: s.thumb, width: s.width, height: s.height, atMs: nowMs };
  }

  /** Forget the reference: the next frame is detected. */
  reset(): void {
    this.ref = null;
  }

  get hasReference(): boolean {
    return this.ref !== null;
  }
}
