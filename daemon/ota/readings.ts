// What probation reads from the results: per model version, how many results came out with a
// non-finite score (NaN / Infinity: a broken model gives every frame the first label) and the recent
// inference times (for the median against the previous model's; the first WARMUP times of a freshly
// counted model are left out: a new worker's first runs are slow). A result may carry no time (faces
// mode: a frame on which the classifier read no face says nothing about its speed); only timed
// results count towards the warm-up and the median. Fed by the app's callbacks.
export interface ModelKey {
  name: string;
  version: string;
}

interface Tally {
  results: number;
  nonFinite: number;
  /** Results that carried an inference time. */
  timed: number;
  /** The last WINDOW inference times (ms), oldest first. */
  ms: number[];
}

const WINDOW = 200;
export const WARMUP = 5;
const keyOf = (m: ModelKey) => `${m.name}@${m.version}`;

export function median(xs: readonly number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * True when any of the numbers a result carries is NaN or infinite. `scores` and `more` (per-face
 * scores) must be numbers: a null there is a NaN that crossed the engine protocol's JSON. `score` may
 * be null (faces mode: no face).
 */
export function hasNonFinite(score: number | null | undefined, scores: Record<string, number | null> | undefined, more: readonly (number | null | undefined)[] = []): boolean {
  const bad = (x: number | null | undefined) => typeof x === 'number' && !Number.isFinite(x);
  const badOrNull = (x: number | null | undefined) => x === null || bad(x);
  return bad(score) || Object.values(scores ?? {}).some(badOrNull) || more.some(badOrNull);
}

export class ResultReadings {
  private readonly byModel = new Map<string, Tally>();

  /** One result of `model`: was anything in it non-finite, and how long the inference took (NaN: no time). */
  observe(model: ModelKey, nonFinite: boolean, inferMs: number): void {
    const k = keyOf(model);
    let t = this.byModel.get(k);
    if (t) this.byModel.delete(k); // re-inserted below: the least recently observed model is the one forgotten
    else if (this.byModel.size >= 16) this.byModel.delete(this.byModel.keys().next().value!);
    t ??= { results: 0, nonFinite: 0, timed: 0, ms: [] };
    this.byModel.set(k, t);
    t.results++;
    if (nonFinite) t.nonFinite++;
    if (!Number.isFinite(inferMs)) return;
    if (++t.timed > WARMUP) {
      t.ms.push(inferMs);
      if (t.ms.length > WINDOW) t.ms.shift();
    }
  }

  /** Totals so far for a model (results, non-finite results) and the median of its recent inference times. */
  of(model: ModelKey): { results: number; nonFinite: number; medianMs: number | null; samples: number } {
    const t = this.byModel.get(keyOf(model));
    return { results: t?.results ?? 0, nonFinite: t?.nonFinite ?? 0, medianMs: median(t?.ms ?? []), samples: t?.ms.length ?? 0 };
  }

  /** Start counting a model afresh (a probation begins). */
  reset(model: ModelKey): void {
    this.byModel.delete(keyOf(model));
  }
}
