// Classify tracks, not frames: when a track's face needs a new reading, and the track's running
// verdict (class probabilities averaged over its readings, each weighted by the face's size and the
// detector's score). Pure.
import { decide, type DecisionRule } from '../../models/decision.js';
import type { Classification } from '../../models/classify.js';

/**
 * The label of a track's averaged probabilities: the top label, then the model's decision rule when its
 * manifest has one (models/decision.ts `decide`, issue 15: e.g. no_mask when p(no_mask) >= t) — the
 * same function the worker applies to each face, so a track and a frame decide alike.
 */
export function decideLabel(scores: Readonly<Record<string, number>>, rule?: DecisionRule): { label: string; score: number } {
  const entries = Object.entries(scores);
  // A model that answers NaN (null after the engine protocol's JSON) gives a NaN verdict: OTA probation
  // counts it as a failure (daemon/ota/readings.ts) instead of a confident first label.
  if (entries.some(([, v]) => !Number.isFinite(v))) return { label: entries[0]?.[0] ?? '', score: NaN };
  let best = '', score = -Infinity;
  for (const [k, v] of entries) if (v > score) [best, score] = [k, v];
  const d = decide({ label: best, score, scores: { ...scores } } as Classification, rule);
  return { label: d.label, score: d.score };
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
    // Readings of a model that answered NaN (before a hot swap, say) are dropped once a finite one comes.
    if (Object.values(this.sums).some((v) => !Number.isFinite(v)) && Object.values(scores).every((v) => typeof v === 'number' && Number.isFinite(v))) {
      this.sums = {};
      this.sumW = 0;
    }
    for (const [k, v] of Object.entries(scores)) this.sums[k] = (this.sums[k] ?? 0) + w * (typeof v === 'number' ? v : NaN); // null = NaN in JSON
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
  verdict(rule?: DecisionRule): { label: string; score: number; scores: Record<string, number> } | null {
    if (!this.readings) return null;
    const scores = this.scores();
    return { ...decideLabel(scores, rule), scores };
  }

  settled(p: ReadingPolicy, rule?: DecisionRule): boolean {
    const v = this.verdict(rule);
    return v !== null && (this.readings >= p.settleReadings || v.score >= p.uncertain);
  }

  /**
   * Does the track need a reading on frame `seq`, whatever its face's size? (`growArea` covers growth:
   * the face also needs one if its detected area reaches it.)
   */
  needsReading(seq: number, p: ReadingPolicy, rule?: DecisionRule): { read: boolean; growArea: number } {
    const v = this.verdict(rule);
    const read = v === null || seq - this.lastReadSeq >= p.everyFrames || (v.score < p.uncertain && this.readings < p.maxUncertainReadings);
    return { read, growArea: this.lastReadArea * p.growth };
  }
}
