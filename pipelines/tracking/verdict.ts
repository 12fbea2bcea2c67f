// Classify tracks, not frames: when a track's face needs a new reading, and the track's running
// verdict (class probabilities averaged over its readings, each weighted by the face's size and the
// detector's score). Pure.

/**
 * The one decision rule from class probabilities to a label, used for a track's verdict. With
 * `noMaskThreshold` (a manifest's decision rule, when the model has one) a face is no_mask as soon as
 * p(no_mask) reaches it; otherwise the most probable class.
 */
export function decideLabel(scores: Readonly<Record<string, number>>, rule: { noMaskThreshold?: number } = {}): { label: string; score: number } {
  const t = rule.noMaskThreshold;
  if (t !== undefined && 'no_mask' in scores) {
    if (scores.no_mask >= t) return { label: 'no_mask', score: scores.no_mask };
    const others = Object.entries(scores).filter(([k]) => k !== 'no_mask').sort((a, b) => b[1] - a[1]);
    if (others.length) return { label: others[0][0], score: others[0][1] };
  }
  let best = '', score = -Infinity;
  for (const [k, v] of Object.entries(scores)) if (v > score) [best, score] = [k, v];
  return { label: best, score };
}

export interface ReadingPolicy {
  /** Read again after this many camera frames since the last reading (K). */
  everyFrames: number;
  /** Read again when the face's area reached this multiple of its area at the last reading. */
  growth: number;
  /** A verdict scoring below this is uncertain: read again on the next detected frame… */
  uncertain: number;
  /** …until the track has this many readings (then every `everyFrames`). */
  maxUncertainReadings: number;
  /** The verdict is settled (a `verdict` event) once it has this many readings, or scores ≥ `uncertain`. */
  settleReadings: number;
}

export const READING_DEFAULTS: ReadingPolicy = { everyFrames: 10, growth: 1.5, uncertain: 0.8, maxUncertainReadings: 5, settleReadings: 3 };

/** A face's weight in the running verdict: its linear size (√area, pixels) times the detector's score. */
export function readingWeight(box: readonly number[], detScore: number): number {
  return Math.sqrt(Math.max(0, box[2]) * Math.max(0, box[3])) * Math.max(0, detScore);
}

export class TrackVerdict {
  readings = 0;
  lastReadSeq = -Infinity;
  lastReadArea = 0;
  private sumW = 0;
  private sums: Record<string, number> = {};

  /** Add a reading: the classifier's probabilities for this track's face on frame `seq`. */
  add(seq: number, scores: Readonly<Record<string, number>>, box: readonly number[], detScore: number): void {
    const w = Math.max(1e-6, readingWeight(box, detScore));
    for (const [k, v] of Object.entries(scores)) this.sums[k] = (this.sums[k] ?? 0) + w * v;
    this.sumW += w;
    this.readings++;
    this.lastReadSeq = seq;
    this.lastReadArea = box[2] * box[3];
  }

  /** Averaged probabilities (empty before the first reading). */
  scores(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.sums)) out[k] = Math.round((v / this.sumW) * 1e4) / 1e4;
    return out;
  }

  /** The running verdict, or null before the first reading. */
  verdict(rule: { noMaskThreshold?: number } = {}): { label: string; score: number; scores: Record<string, number> } | null {
    if (!this.readings) return null;
    const scores = this.scores();
    return { ...decideLabel(scores, rule), scores };
  }

  settled(p: ReadingPolicy, rule: { noMaskThreshold?: number } = {}): boolean {
    const v = this.verdict(rule);
    return v !== null && (this.readings >= p.settleReadings || v.score >= p.uncertain);
  }

  /**
   * Does the track need a reading on frame `seq`, whatever its face's size? (`growArea` covers growth:
   * the face also needs one if its detected area reaches it.)
   */
  needsReading(seq: number, p: ReadingPolicy, rule: { noMaskThreshold?: number } = {}): { read: boolean; growArea: number } {
    const v = this.verdict(rule);
    const read = v === null || seq - this.lastReadSeq >= p.everyFrames || (v.score < p.uncertain && this.readings < p.maxUncertainReadings);
    return { read, growArea: this.lastReadArea * p.growth };
  }
}
