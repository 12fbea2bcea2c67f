// edgectl doctor / npm run device-check: the pure part. Timing statistics, the verdict (does the
// provider the configuration puts first really run?) and the printed report.

export interface ProviderCheck {
  /** "onnxruntime" or "edgetpu" */
  engine: string;
  /** The provider asked for. */
  asked: string;
  /** The provider that really ran (after a warm-up inference), or null when none did. */
  ran: string | null;
  /** Why it did not run (the worker's fallback reasons or load error). */
  reason?: string;
  warnings: string[];
  loadMs?: number;
  timesMs?: number[];
  /** The face detector on the same provider (its own request and cache), timed through faces requests. */
  detector?: { model: string; ran: string | null; reason?: string; loadMs?: number; timesMs?: number[] };
}

/** A camera decoder that needs something installed (gstreamer-nv: nvv4l2decoder and nvvidconv). */
export interface DecoderCheck {
  decoder: string;
  ok: boolean;
  reason?: string;
  /** A configured camera uses it (then a missing one fails the check). */
  configured: boolean;
}

export interface TimingStats {
  runs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  fps: number;
}

export function timingStats(times: number[]): TimingStats | null {
  if (!times.length) return null;
  const s = [...times].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { runs: s.length, meanMs: mean, p50Ms: q(0.5), p90Ms: q(0.9), fps: mean > 0 ? 1000 / mean : Infinity };
}

export interface Verdict {
  ok: boolean;
  problems: string[];
}

/**
 * The device passes when the expected provider (by default the first one the config lists) runs,
 * without warnings (e.g. an engine cache asked for but not written), and the configured cache checks pass.
 */
export function verdict(checks: ProviderCheck[], expected: string, cacheProblems: string[] = [], decoders: DecoderCheck[] = []): Verdict {
  const problems: string[] = [];
  const c = checks.find((x) => x.asked === expected);
  if (!c) problems.push(`provider "${expected}" was not checked`);
  else if (c.ran !== expected) problems.push(`expected provider "${expected}" does not run here: ${c.reason ?? `ran ${c.ran} instead`}`);
  else {
    for (const w of c.warnings) problems.push(`${expected}: ${w}`);
    if (c.detector && c.detector.ran !== expected) problems.push(`the face detector ${c.detector.model} does not run on "${expected}": ${c.detector.reason ?? `ran ${c.detector.ran} instead`}`);
  }
  problems.push(...cacheProblems);
  for (const d of decoders) if (d.configured && !d.ok) problems.push(`decoder ${d.decoder} (configured for a camera) is not available: ${d.reason}`);
  return { ok: problems.length === 0, problems };
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : '∞');

export function formatReport(model: string, checks: ProviderCheck[], v: Verdict, expected: string, decoders: DecoderCheck[] = [], simd?: boolean): string[] {
  const lines = [`model: ${model}`, '', 'engine       provider   runs  ms/inference (mean / p50 / p90)    FPS      load ms', ''.padEnd(86, '-')];
  for (const c of checks) {
    const st = timingStats(c.timesMs ?? []);
    const head = `${c.engine.padEnd(12)} ${c.asked.padEnd(10)}`;
    if (c.ran !== c.asked || !st) {
      lines.push(`${head} NO    ${c.ran ? `(ran ${c.ran}) ` : ''}${c.reason ?? ''}`);
      continue;
    }
    lines.push(`${head} yes   ${`${f1(st.meanMs)} / ${f1(st.p50Ms)} / ${f1(st.p90Ms)}`.padEnd(34)} ${f1(st.fps).padEnd(8)} ${c.loadMs !== undefined ? Math.round(c.loadMs) : ''}`);
    for (const w of c.warnings) lines.push(`${''.padEnd(24)}warning: ${w}`);
    const d = c.detector;
    const ds = timingStats(d?.timesMs ?? []);
    if (d && d.ran === c.asked && ds) lines.push(`${'  + detector'.padEnd(23)} yes   ${`${f1(ds.meanMs)} / ${f1(ds.p50Ms)} / ${f1(ds.p90Ms)}`.padEnd(34)} ${f1(ds.fps).padEnd(8)} ${d.loadMs !== undefined ? Math.round(d.loadMs) : ''}  (faces request, ${d.model})`);
    else if (d) lines.push(`${'  + detector'.padEnd(23)} NO    ${d.ran ? `(ran ${d.ran}) ` : ''}${d.reason ?? ''}`);
  }
  for (const d of decoders) lines.push(`decoder ${d.decoder.padEnd(13)} ${d.ok ? 'yes' : 'NO '}   ${d.reason ?? ''}${d.configured ? ' (configured)' : ''}`);
  if (simd !== undefined) lines.push(`detector input       ${simd ? 'WebAssembly SIMD' : 'plain JS: this WebAssembly has no SIMD (the detector input costs ≈ 4× more CPU, D149)'}`);
  lines.push('', v.ok ? `OK: "${expected}" runs.` : `FAILED (expected "${expected}"):`);
  for (const p of v.problems) lines.push(`  - ${p}`);
  return lines;
}
