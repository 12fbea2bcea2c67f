// The manifest's decision rule: which label a face gets from the classifier's probabilities.
// Without a rule the top label wins (argmax). With one, `label` wins whenever its probability reaches
// `threshold`, otherwise the best of the other labels: an operating point chosen for one class's
// recall (for mask / no_mask: "no_mask when p(no_mask) >= t", tuned for unmasked recall). Pure.
import type { Classification } from './classify.js';

export interface DecisionRule {
  /** The label the rule favours. */
  label: string;
  /** `label` when its probability is >= threshold (0 < threshold < 1). */
  threshold: number;
  /** How the threshold was chosen (free text, for people). */
  chosenFor?: string;
}

/** Problems with a `decision` object from a manifest (empty when it is valid for these labels). */
export function decisionProblems(raw: unknown, labels: readonly string[]): string[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return ['decision: expected an object {label, threshold}'];
  const d = raw as Record<string, unknown>;
  const p: string[] = [];
  for (const k of Object.keys(d)) if (!['label', 'threshold', 'chosenFor'].includes(k)) p.push(`decision.${k}: unknown key`);
  if (typeof d.label !== 'string' || !labels.includes(d.label)) p.push(`decision.label: ${JSON.stringify(d.label)} is not one of the labels (${labels.join(', ')})`);
  if (typeof d.threshold !== 'number' || !(d.threshold > 0 && d.threshold < 1)) p.push(`decision.threshold: expected a number in (0, 1), got ${JSON.stringify(d.threshold)}`);
  if (d.chosenFor !== undefined && typeof d.chosenFor !== 'string') p.push('decision.chosenFor: expected a string');
  if (labels.length < 2) p.push('decision: needs at least two labels');
  return p;
}

/**
 * Apply a rule to a classification (its `scores` are the probabilities). Returns the same object
 * when there is no rule; otherwise a copy whose label/score follow the rule, with `scores` unchanged.
 */
export function decide(c: Classification, rule: DecisionRule | undefined): Classification {
  if (!rule || !(rule.label in c.scores)) return c;
  const p = c.scores[rule.label];
  if (p >= rule.threshold) return { ...c, label: rule.label, score: p };
  let best = '', bestP = -1;
  for (const [l, v] of Object.entries(c.scores)) if (l !== rule.label && v > bestP) (best = l), (bestP = v);
  return { ...c, label: best, score: bestP };
}

/** Precision and recall of `label` for a sweep of thresholds over (probability of label, is it label) pairs. */
export function prCurve(samples: readonly { p: number; positive: boolean }[], thresholds: readonly number[]): { threshold: number; precision: number; recall: number; otherRecall: number }[] {
  const pos = samples.filter((s) => s.positive).length, neg = samples.length - pos;
  return thresholds.map((t) => {
    let tp = 0, fp = 0;
    for (const s of samples) if (s.p >= t) s.positive ? tp++ : fp++;
    return { threshold: t, precision: tp + fp ? tp / (tp + fp) : 1, recall: pos ? tp / pos : 1, otherRecall: neg ? (neg - fp) / neg : 1 };
  });
}
