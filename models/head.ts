// A linear softmax head trained on frozen features: pure maths, no I/O (edgectl train).
// Deterministic: the only randomness is the seeded PRNG passed in; full-batch Adam in float64.

/** Seeded PRNG (mulberry32): the same seed gives the same sequence on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle of a copy, driven by `rand`. */
export function shuffled<T>(xs: readonly T[], rand: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/**
 * Split item indices per class into train / val / test (stratified, seeded). Each class gives
 * round(n·valFraction) (at least 1) to val and as many to test; the rest is train.
 */
export function stratifiedSplit(classOf: readonly number[], seed: number, valFraction: number): { train: number[]; val: number[]; test: number[] } {
  const rand = prng(seed);
  const byClass = new Map<number, number[]>();
  classOf.forEach((c, i) => byClass.set(c, [...(byClass.get(c) ?? []), i]));
  const out = { train: [] as number[], val: [] as number[], test: [] as number[] };
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const idx = shuffled(byClass.get(c)!, rand);
    const k = Math.max(1, Math.round(idx.length * valFraction));
    out.val.push(...idx.slice(0, k));
    out.test.push(...idx.slice(k, 2 * k));
    out.train.push(...idx.slice(2 * k));
  }
  for (const v of Object.values(out)) v.sort((a, b) => a - b);
  return out;
}

/** Inverse-frequency class weights, normalised so the weighted sample count equals the sample count. */
export function classWeights(labels: readonly number[], classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (const y of labels) counts[y]++;
  const present = counts.filter((n) => n > 0).length;
  return counts.map((n) => (n ? labels.length / (present * n) : 0));
}

/** Per-feature mean and standard deviation (std floored at 1e-6). */
export function standardiser(x: readonly Float32Array[], dim: number): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(dim), std = new Float64Array(dim);
  for (const v of x) for (let d = 0; d < dim; d++) mean[d] += v[d] / x.length;
  for (const v of x) for (let d = 0; d < dim; d++) std[d] += (v[d] - mean[d]) ** 2 / x.length;
  for (let d = 0; d < dim; d++) std[d] = Math.max(1e-6, Math.sqrt(std[d]));
  return { mean, std };
}

/** A linear head on raw features: logits = W·x + b, W row-major [classes][dim] (ONNX Gemm with transB=1). */
export interface Head {
  classes: number;
  dim: number;
  weight: Float32Array;
  bias: Float32Array;
}

export function headLogits(h: Head, x: ArrayLike<number>): number[] {
  const out = new Array<number>(h.classes);
  for (let k = 0; k < h.classes; k++) {
    let s = h.bias[k];
    for (let d = 0; d < h.dim; d++) s += h.weight[k * h.dim + d] * x[d];
    out[k] = s;
  }
  return out;
}

export const argmax = (v: ArrayLike<number>): number => {
  let b = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[b]) b = i;
  return b;
};

export interface TrainOptions {
  classes: number;
  epochs: number;
  lr: number;
  l2: number;
  /** Stop when val loss has not improved for this many epochs; the best epoch's weights are kept. */
  patience: number;
  weights?: number[];
}

export interface EpochInfo {
  epoch: number;
  loss: number;
  valLoss: number;
  valAccuracy: number;
}

export interface TrainResult {
  head: Head;
  bestEpoch: number;
  epochsRun: number;
  stoppedEarly: boolean;
  history: EpochInfo[];
}

/** Early stopping bookkeeping: is `loss` at `epoch` a new best, and should training stop now? */
export function earlyStop(state: { best: number; bestEpoch: number }, epoch: number, loss: number, patience: number): { improved: boolean; stop: boolean } {
  const improved = loss < state.best - 1e-9;
  if (improved) Object.assign(state, { best: loss, bestEpoch: epoch });
  return { improved, stop: epoch - state.bestEpoch >= patience };
}

/**
 * Weighted softmax regression with L2 on standardised features, full-batch Adam. Weights start at
 * zero (so no randomness is needed). The returned head works on RAW features: standardisation is
 * folded into W and b.
 */
export function trainHead(x: Float32Array[], y: number[], vx: Float32Array[], vy: number[], o: TrainOptions, onEpoch?: (e: EpochInfo) => void): TrainResult {
  if (!x.length) throw new Error('no training samples');
  const K = o.classes, D = x[0].length;
  const { mean, std } = standardiser(x, D);
  const norm = (v: Float32Array) => Float64Array.from(v, (a, d) => (a - mean[d]) / std[d]);
  const xs = x.map(norm), vs = vx.map(norm);
  const cw = o.weights ?? new Array<number>(K).fill(1);
  const W = new Float64Array(K * D), b = new Float64Array(K);
  const mW = new Float64Array(K * D), vW = new Float64Array(K * D), mb = new Float64Array(K), vb = new Float64Array(K);
  const probs = (v: Float64Array, Wt: Float64Array, bt: Float64Array) => {
    const z = new Float64Array(K);
    for (let k = 0; k < K; k++) {
      let s = bt[k];
      for (let d = 0; d < D; d++) s += Wt[k * D + d] * v[d];
      z[k] = s;
    }
    const m = Math.max(...z);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += (z[k] = Math.exp(z[k] - m));
    for (let k = 0; k < K; k++) z[k] /= sum;
    return z;
  };
  const evalSet = (xx: Float64Array[], yy: number[], Wt: Float64Array, bt: Float64Array) => {
    let loss = 0, ok = 0;
    xx.forEach((v, i) => {
      const p = probs(v, Wt, bt);
      loss -= Math.log(Math.max(1e-12, p[yy[i]]));
      if (argmax(p) === yy[i]) ok++;
    });
    return { loss: xx.length ? loss / xx.length : 0, acc: xx.length ? ok / xx.length : 0 };
  };
  const state = { best: Infinity, bestEpoch: 0 };
  let bestW = Float64Array.from(W), bestB = Float64Array.from(b);
  const history: EpochInfo[] = [];
  const totalW = y.reduce((s, c) => s + cw[c], 0);
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  let stoppedEarly = false, epoch = 0;
  for (epoch = 1; epoch <= o.epochs; epoch++) {
    const gW = new Float64Array(K * D), gb = new Float64Array(K);
    let loss = 0;
    xs.forEach((v, i) => {
      const p = probs(v, W, b);
      const w = cw[y[i]] / totalW;
      loss -= w * Math.log(Math.max(1e-12, p[y[i]]));
      for (let k = 0; k < K; k++) {
        const g = w * (p[k] - (k === y[i] ? 1 : 0));
        gb[k] += g;
        for (let d = 0; d < D; d++) gW[k * D + d] += g * v[d];
      }
    });
    for (let j = 0; j < K * D; j++) {
      const g = gW[j] + o.l2 * W[j];
      loss += (0.5 * o.l2 * W[j] * W[j]) / K;
      mW[j] = b1 * mW[j] + (1 - b1) * g;
      vW[j] = b2 * vW[j] + (1 - b2) * g * g;
      W[j] -= (o.lr * (mW[j] / (1 - b1 ** epoch))) / (Math.sqrt(vW[j] / (1 - b2 ** epoch)) + eps);
    }
    for (let k = 0; k < K; k++) {
      mb[k] = b1 * mb[k] + (1 - b1) * gb[k];
      vb[k] = b2 * vb[k] + (1 - b2) * gb[k] * gb[k];
      b[k] -= (o.lr * (mb[k] / (1 - b1 ** epoch))) / (Math.sqrt(vb[k] / (1 - b2 ** epoch)) + eps);
    }
    const v = vs.length ? evalSet(vs, vy, W, b) : { loss, acc: 0 };
    const info = { epoch, loss, valLoss: v.loss, valAccuracy: v.acc };
    history.push(info);
    onEpoch?.(info);
    const s = earlyStop(state, epoch, v.loss, o.patience);
    if (s.improved) (bestW = Float64Array.from(W)), (bestB = Float64Array.from(b));
    if (s.stop) {
      stoppedEarly = true;
      break;
    }
  }
  return { head: foldStandardiser(bestW, bestB, mean, std, K, D), bestEpoch: state.bestEpoch, epochsRun: Math.min(epoch, o.epochs), stoppedEarly, history };
}

/** W' = W/σ, b' = b − Σ W·μ/σ: the same logits on raw features as W, b on standardised ones. */
export function foldStandardiser(W: Float64Array, b: Float64Array, mean: Float64Array, std: Float64Array, K: number, D: number): Head {
  const weight = new Float32Array(K * D), bias = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    let s = b[k];
    for (let d = 0; d < D; d++) {
      weight[k * D + d] = W[k * D + d] / std[d];
      s -= (W[k * D + d] * mean[d]) / std[d];
    }
    bias[k] = s;
  }
  return { classes: K, dim: D, weight, bias };
}
