// Classifier outputs → labels, as the manifest's output.kind says. Pure maths.

/** Numerically stable softmax. */
export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  const e = new Array<number>(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    e[i] = Math.exp(logits[i] - max);
    sum += e[i];
  }
  for (let i = 0; i < e.length; i++) e[i] /= sum;
  return e;
}

export interface Classification {
  label: string;
  score: number;
  scores: Record<string, number>;
}

/** Turn one row of outputs into the top label and the label → probability map. */
export function classify(row: ArrayLike<number>, labels: readonly string[], kind: 'logits' | 'probabilities'): Classification {
  if (row.length !== labels.length) throw new RangeError(`model returned ${row.length} values for ${labels.length} labels`);
  const probs = kind === 'logits' ? softmax(row) : Array.from(row);
  let best = 0;
  for (let i = 1; i < probs.length; i++) if (probs[i] > probs[best]) best = i;
  const scores: Record<string, number> = {};
  labels.forEach((l, i) => (scores[l] = round(probs[i])));
  return { label: labels[best], score: round(probs[best]), scores };
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;
