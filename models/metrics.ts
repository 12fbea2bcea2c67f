// Classification metrics: confusion matrix, accuracy, per-class precision / recall. Pure.

export interface Metrics {
  labels: string[];
  /** matrix[actual][predicted] counts. */
  matrix: number[][];
  total: number;
  accuracy: number;
  perClass: { label: string; precision: number; recall: number; support: number }[];
}

export function metrics(labels: string[], pairs: { actual: string; predicted: string }[]): Metrics {
  const idx = new Map(labels.map((l, i) => [l, i]));
  const matrix = labels.map(() => labels.map(() => 0));
  for (const p of pairs) {
    const a = idx.get(p.actual);
    const q = idx.get(p.predicted);
    if (a === undefined) throw new Error(`actual label "${p.actual}" is not one of ${labels.join(', ')}`);
    if (q === undefined) throw new Error(`predicted label "${p.predicted}" is not one of ${labels.join(', ')}`);
    matrix[a][q]++;
  }
  const correct = labels.reduce((s, _l, i) => s + matrix[i][i], 0);
  const perClass = labels.map((label, i) => {
    const predicted = matrix.reduce((s, row) => s + row[i], 0);
    const support = matrix[i].reduce((s, n) => s + n, 0);
    return { label, precision: predicted ? matrix[i][i] / predicted : 0, recall: support ? matrix[i][i] / support : 0, support };
  });
  return { labels, matrix, total: pairs.length, accuracy: pairs.length ? correct / pairs.length : 0, perClass };
}

/** Plain-text report: accuracy, per-class precision/recall, confusion matrix (rows = actual). */
export function formatMetrics(m: Metrics): string {
  const pct = (x: number) => (100 * x).toFixed(2) + '%';
  const w = Math.max(10, ...m.labels.map((l) => l.length + 2));
  const lines = [`images: ${m.total}`, `accuracy: ${pct(m.accuracy)}`, '', `${'class'.padEnd(w)}${'precision'.padStart(11)}${'recall'.padStart(9)}${'support'.padStart(9)}`];
  for (const c of m.perClass) lines.push(`${c.label.padEnd(w)}${pct(c.precision).padStart(11)}${pct(c.recall).padStart(9)}${String(c.support).padStart(9)}`);
  lines.push('', 'confusion matrix (rows: actual, columns: predicted)', ' '.repeat(w) + m.labels.map((l) => l.padStart(w)).join(''));
  m.labels.forEach((l, i) => lines.push(l.padEnd(w) + m.matrix[i].map((n) => String(n).padStart(w)).join('')));
  return lines.join('\n');
}
