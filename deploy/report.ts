// The adaptation report written beside a model: Markdown + an SVG confusion matrix. Pure strings.
import type { Metrics } from '../models/metrics.js';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const pct = (x: number) => (100 * x).toFixed(1) + ' %';

/** Accuracy over the images whose true label is in `subset` (e.g. the base model's old classes). */
export function subsetAccuracy(m: Metrics, subset: readonly string[]): { correct: number; total: number; accuracy: number } {
  let correct = 0, total = 0;
  m.labels.forEach((l, i) => {
    if (!subset.includes(l)) return;
    total += m.matrix[i].reduce((a, b) => a + b, 0);
    correct += m.matrix[i][i];
  });
  return { correct, total, accuracy: total ? correct / total : 0 };
}

/** A confusion matrix as SVG: rows actual, columns predicted, cells shaded by row fraction. */
export function confusionSvg(m: Metrics, title: string): string {
  const cell = 56, left = 110, top = 70, n = m.labels.length;
  const footer = `rows: actual · accuracy ${pct(m.total ? m.matrix.reduce((s, r, i) => s + r[i], 0) / m.total : 0)} (${m.total} images)`;
  // wide enough for the title (14 px bold: ≤ 9 px a character) and the footer (12 px: ≤ 7 px)
  const w = Math.ceil(Math.max(left + n * cell + 20, 20 + title.length * 9, 20 + footer.length * 7)), h = top + n * cell + 40;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">`, `<rect width="${w}" height="${h}" fill="white"/>`, `<text x="10" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`, `<text x="${left}" y="38">predicted →</text>`];
  m.labels.forEach((l, j) => parts.push(`<text x="${left + j * cell + cell / 2}" y="${top - 8}" text-anchor="middle">${esc(l)}</text>`));
  m.labels.forEach((l, i) => {
    const row = m.matrix[i].reduce((a, b) => a + b, 0);
    parts.push(`<text x="${left - 8}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end">${esc(l)}</text>`);
    m.matrix[i].forEach((v, j) => {
      const f = row ? v / row : 0;
      const shade = Math.round(255 - 180 * f);
      const fill = i === j ? `rgb(${shade},255,${shade})` : v ? `rgb(255,${shade},${shade})` : '#f4f4f4';
      parts.push(`<rect x="${left + j * cell}" y="${top + i * cell}" width="${cell - 2}" height="${cell - 2}" fill="${fill}" stroke="#999"/>`, `<text x="${left + j * cell + cell / 2 - 1}" y="${top + i * cell + cell / 2 + 4}" text-anchor="middle">${v}</text>`);
    });
  });
  parts.push(`<text x="10" y="${h - 12}">${esc(footer)}</text>`, '</svg>');
  return parts.join('\n');
}

export interface ReportInput {
  model: string;
  baseline?: string;
  baseLabels?: string[];
  after: Metrics;
  before?: Metrics;
  svgAfter: string;
  svgBefore?: string;
  slice: string;
}

export function reportMarkdown(r: ReportInput): string {
  const table = (m: Metrics) => ['| true \\ predicted | ' + m.labels.join(' | ') + ' |', '|---|' + m.labels.map(() => '---:').join('|') + '|', ...m.labels.map((l, i) => `| **${l}** | ${m.matrix[i].join(' | ')} |`)].join('\n');
  const lines = [`# Adaptation report: ${r.model}`, '', `Images: ${r.slice} (${r.after.total}).`, ''];
  if (r.before) {
    const old = r.baseLabels ?? [];
    const a = subsetAccuracy(r.after, old), b = subsetAccuracy(r.before, old);
    lines.push('| model | accuracy (all classes) | accuracy on the base classes (' + old.join(', ') + ') |', '|---|---:|---:|');
    lines.push(`| before: ${r.baseline} | ${pct(r.before.accuracy)} | ${pct(b.accuracy)} (${b.correct}/${b.total}) |`);
    lines.push(`| after: ${r.model} | ${pct(r.after.accuracy)} | ${pct(a.accuracy)} (${a.correct}/${a.total}) |`, '');
    lines.push('Classes the base model does not have count as errors for it.', '', '## Before', '', `![before](${r.svgBefore})`, '', table(r.before), '');
  }
  lines.push('## After', '', `![after](${r.svgAfter})`, '', table(r.after), '');
  lines.push('| class | precision | recall | support |', '|---|---:|---:|---:|', ...r.after.perClass.map((c) => `| ${c.label} | ${pct(c.precision)} | ${pct(c.recall)} | ${c.support} |`), '');
  return lines.join('\n');
}
