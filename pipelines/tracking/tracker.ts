// One camera's tracker (SORT / ByteTrack style): every track carries a Kalman-predicted box; each
// detected frame's faces are matched to the predicted boxes (associate.ts: confident faces first,
// weak ones only to continue a track); a track is born tentative, confirmed after `minHits`
// consecutive detected frames with a match, and dies `maxLostFrames` camera frames after it was last
// seen (a tentative track dies at its first miss: detector flicker never makes a person). Frames are
// counted by the camera's sequence number, so dropped frames and a detection cadence (the detector on
// every n-th frame only) are steps of the prediction, not misses. Pure: no clock, no I/O.
import { associate, ASSOCIATION_DEFAULTS, type AssociationOptions, type Box } from './associate.js';
import { kalmanBox, kalmanInit, kalmanPredict, kalmanUpdate, type KalmanState } from './kalman.js';

export interface TrackerOptions {
  /** Consecutive detected frames with a match before a track is confirmed (a person). */
  minHits: number;
  /** A track not seen for more than this many camera frames is removed. */
  maxLostFrames: number;
  association: AssociationOptions;
}

export const TRACKER_DEFAULTS: TrackerOptions = { minHits: 3, maxLostFrames: 15, association: ASSOCIATION_DEFAULTS };

export interface Track {
  id: number;
  confirmed: boolean;
  hits: number;
  /** Camera frame the filter state is at, and the last frame with a matched detection. */
  seq: number;
  lastSeenSeq: number;
  firstSeenSeq: number;
  /** Last matched detection (frame pixels) and its detector score. */
  box: Box;
  detScore: number;
  kf: KalmanState;
  /** Missed on a detected frame since it was last seen. */
  missed: boolean;
}

export interface Detection {
  box: Box;
  detScore: number;
}

export interface TrackUpdate {
  /** Per detection: its track id, or null (a weak detection that continues nothing is dropped). */
  assigned: (number | null)[];
  /** Tracks confirmed by this update. */
  confirmed: Track[];
  /** Tracks removed by this update (lost too long, or tentative and missed). */
  removed: Track[];
}

export class Tracker {
  private tracks: Track[] = [];
  private nextId = 1;
  readonly o: TrackerOptions;

  constructor(o: Partial<TrackerOptions> = {}) {
    this.o = { ...TRACKER_DEFAULTS, ...o, association: { ...TRACKER_DEFAULTS.association, ...o.association } };
    if (!Number.isInteger(this.o.minHits) || this.o.minHits < 1) throw new RangeError(`minHits must be an integer ≥ 1, got ${this.o.minHits}`);
    if (!Number.isInteger(this.o.maxLostFrames) || this.o.maxLostFrames < 0) throw new RangeError(`maxLostFrames must be an integer ≥ 0, got ${this.o.maxLostFrames}`);
  }

  /** Live tracks (tentative and confirmed), oldest first. */
  all(): readonly Track[] {
    return this.tracks;
  }

  get(id: number): Track | undefined {
    return this.tracks.find((t) => t.id === id);
  }

  /** Every live track's box predicted at frame `seq` (no state change): the association's input. */
  predicted(seq: number): { id: number; box: Box; lost: boolean }[] {
    // a lost track (missed on a detected frame since it was last seen) keeps its size
    return this.tracks.map((t) => ({ id: t.id, box: kalmanBox(kalmanPredict(t.kf, seq - t.seq, t.missed ? 1 : seq - t.seq)), lost: t.missed }));
  }

  /**
   * A detected frame. `assigned` may come from elsewhere (the engine worker ran associate() on the
   * boxes of predicted(seq)); it is checked, and computed here when absent or inconsistent.
   */
  update(seq: number, dets: readonly Detection[], assigned?: readonly (number | null)[]): TrackUpdate {
    const pred = this.predicted(seq);
    const a = assigned && this.consistent(assigned, dets.length) ? [...assigned] : associate(pred, dets, this.o.association);
    const confirmed: Track[] = [];
    const matched = new Set<number>();
    dets.forEach((d, i) => {
      const id = a[i];
      if (id === null) return;
      const t = this.get(id)!;
      matched.add(id);
      t.kf = kalmanUpdate(kalmanPredict(t.kf, seq - t.seq, t.missed ? 1 : seq - t.seq), d.box);
      t.seq = seq;
      t.hits++;
      t.lastSeenSeq = seq;
      t.box = d.box;
      t.detScore = d.detScore;
      t.missed = false;
      if (!t.confirmed && t.hits >= this.o.minHits) {
        t.confirmed = true;
        confirmed.push(t);
      }
    });
    // unmatched confident detections start tentative tracks
    dets.forEach((d, i) => {
      if (a[i] !== null || d.detScore < this.o.association.high) return;
      const t: Track = { id: this.nextId++, confirmed: this.o.minHits <= 1, hits: 1, seq, lastSeenSeq: seq, firstSeenSeq: seq, box: d.box, detScore: d.detScore, kf: kalmanInit(d.box), missed: false };
      this.tracks.push(t);
      matched.add(t.id);
      a[i] = t.id;
      if (t.confirmed) confirmed.push(t);
    });
    const removed: Track[] = [];
    this.tracks = this.tracks.filter((t) => {
      if (matched.has(t.id)) return true;
      if (!t.confirmed) t.hits = 0; // consecutive hits only
      t.missed = true;
      const gone = !t.confirmed || seq - t.lastSeenSeq > this.o.maxLostFrames;
      if (gone) removed.push(t);
      return !gone;
    });
    return { assigned: a, confirmed, removed };
  }

  /** A frame that was not detected (cadence): only tracks lost too long are removed. */
  advance(seq: number): Track[] {
    const removed = this.tracks.filter((t) => t.confirmed && seq - t.lastSeenSeq > this.o.maxLostFrames);
    this.tracks = this.tracks.filter((t) => !removed.includes(t));
    return removed;
  }

  /** Remove every track (camera stream lost, stop): returned so their people can leave. */
  clear(): Track[] {
    const all = this.tracks;
    this.tracks = [];
    return all;
  }

  private consistent(a: readonly (number | null)[], n: number): boolean {
    if (a.length !== n) return false;
    const seen = new Set<number>();
    for (const id of a) {
      if (id === null) continue;
      if (seen.has(id) || !this.get(id)) return false;
      seen.add(id);
    }
    return true;
  }
}
