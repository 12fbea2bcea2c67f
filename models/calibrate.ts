// Temperature scaling (Guo et al., 2017): one scalar T > 0 that divides a classifier's logits so that
// its softmax probabilities match how often it is right on held-back data. The argmax (and so the
// accuracy) does not change; over-confident heads get T > 1. Pure maths.
import type { Head } from './head.js';

/** Mean negative log-likelihood of labels y under softmax(logits / T). */
export function nll(logits: readonly (readonly number[])[], y: readonly number[], T: number): number {
  let sum = 0;
  logits.forEach((row, i) => {
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v / T);
    let z = 0;
    for (const v of row) z += Math.exp(v / T - max);
    sum += -(row[y[i]] / T - max - Math.log(z));
  });
  return sum / Math.max(1, logits.length);
}

/**
 * The T in [0.05, 20] that minimises the NLL (golden-section search on log T; the NLL is convex in
 * 1/T). Returns 1 when there is nothing to fit (no samples).
 */
export function fitTemperature(logits: readonly (readonly number[])[], y: readonly number[]): number {
  if (!logits.length) return 1;
  let a = Math.log(0.05), b = Math.log(20);
  const g = (Math.sqrt(5) - 1) / 2;
  const f = (u: number) => nll(logits, y, Math.exp(u));
  let c = b - g * (b - a), d = a + g * (b - a), fc = f(c), fd = f(d);
  for (let i = 0; i < 60; i++) {
    if (fc < fd) (b = d), (d = c), (fd = fc), (c = b - g * (b - a)), (fc = f(c));
    else (a = c), (c = d), (fc = fd), (d = a + g * (b - a)), (fd = f(d));
  }
  return Math.exp((a + b) / 2);
}

/** The head whose logits are the given head's divided by T. */
export function scaleHead(h: Head, T: number): Head {
  return { ...h, weight: h.weight.map((w) => w / T), bias: h.bias.map((b) => b / T) };
}
