// One camera's people: the tracker (tracker.ts), each track's running verdict (verdict.ts), the faces
// of a frame labelled by their track's verdict, and the per-person events (enter when a track is
// confirmed, verdict when its label settles or flips, leave with duration, readings, final label).
// Pure: frame numbers and capture times are passed in; boxes are in the frame's (working) pixels.
import type { Box } from './associate.js';
import type { DecisionRule } from '../../models/decision.js';
import { Tracker, type Track, type TrackerOptions } from './tracker.js';
import { TrackVerdict, READING_DEFAULTS, type ReadingPolicy } from './verdict.js';

/** What every face of a frame has: its box, the crop that was classified, the scores and a label. */
interface FaceFields {
  box: Box;
  crop?: Box;
  detScore: number;
  label: string;
  score: number;
  scores: Record<string, number>;
}

/** A face as the engine answers it (FaceResult), with the association fields of a tracking request. */
export interface DetectedFace extends FaceFields {
  /** The track the worker matched it to (null: none); absent when the worker did not associate. */
  match?: number | null;
  /** False when the worker did not classify it (its track needed no reading). */
  classified?: boolean;
}

/** A face of a frame, labelled by its track: `label` is the track's verdict ('' when it has no reading yet). */
export interface TrackedFace extends FaceFields {
  track: number;
  /** Was this face classified on this frame? */
  classified: boolean;
}

export type PersonEventType = 'enter' | 'verdict' | 'leave';

/** The events payload (docs/ARCHITECTURE.md): `box` is converted to camera pixels by the caller. */
export interface PersonEvent {
  type: PersonEventType;
  camera: string;
  track: number;
  person: string;
  at: string;
  label: string | null;
  score: number | null;
  box: Box;
  readings: number;
  durationMs?: number;
  snapshot: boolean;
}

/** What a track keeps beside its tracker state. */
export interface Person {
  track: number;
  person: string;
  verdict: TrackVerdict;
  firstSeenMs: number;
  lastSeenMs: number;
  /** The same moments on the monotonic clock (pipelines/clock.ts): the visit's duration (D165). */
  firstSeenMono: number;
  lastSeenMono: number;
  /** Best face so far (largest, most confident): box, frame, weight. */
  best: { box: Box; seq: number; weight: number };
  entered: boolean;
  /** Label last announced in a verdict event (null: none yet). */
  announced: string | null;
}

export interface PeopleOptions {
  tracker?: Partial<TrackerOptions>;
  reading?: Partial<ReadingPolicy>;
  /** The model's decision rule, when its manifest has one (verdict.ts decideLabel). */
  rule?: DecisionRule;
  /** Detector on every n-th frame (1 = every frame); frames between are carried by prediction. */
  detectEvery?: number;
  /** Under load the cadence rises up to this (D96); default detectEvery (fixed). */
  detectEveryMax?: number;
}

/**
 * The adaptive detection cadence (D96): RAISE_DROPS frames of the camera dropped within WINDOW frames
 * (the engine does not keep up, not a hiccup) raise the cadence by one, at most once per RAISE_GAP
 * frames and up to detectEveryMax; after RELAX_FRAMES frames without a drop it steps back down by
 * one, towards detectEvery. The long relax keeps the oscillation rare: each step down that proves too
 * early costs a few frames.
 */
export const CADENCE = { RAISE_DROPS: 3, WINDOW: 30, RAISE_GAP: 10, RELAX_FRAMES: 300 } as const;

export interface FrameOutcome {
  faces: TrackedFace[];
  events: PersonEvent[];
  /** Tracks whose best face is on this frame (a snapshot may copy its pixels now). */
  bestImproved: Person[];
}

const r1 = (x: number) => Math.round(x * 10) / 10;
const roundBox = (b: Box): Box => [r1(b[0]), r1(b[1]), r1(b[2]), r1(b[3])];

export class CameraPeople {
  readonly tracker: Tracker;
  readonly reading: ReadingPolicy;
  readonly detectEvery: number;
  readonly detectEveryMax: number;
  private people = new Map<number, Person>();
  private lastDetectedSeq = -Infinity;
  /** The cadence now (detectEvery..detectEveryMax), the last frame that raised it, the last dropped one. */
  private every: number;
  private raisedSeq = -Infinity;
  private droppedSeq = -Infinity;
  /** Frames dropped since the last raise, within the last CADENCE.WINDOW frames. */
  private drops: number[] = [];

  constructor(readonly camera: string, private readonly o: PeopleOptions = {}) {
    this.tracker = new Tracker(o.tracker);
    this.reading = { ...READING_DEFAULTS, ...o.reading };
    this.detectEvery = o.detectEvery ?? 1;
    if (!Number.isInteger(this.detectEvery) || this.detectEvery < 1) throw new RangeError(`detectEvery must be an integer ≥ 1, got ${this.detectEvery}`);
    this.detectEveryMax = Math.max(this.detectEvery, o.detectEveryMax ?? this.detectEvery);
    if (!Number.isInteger(this.detectEveryMax)) throw new RangeError(`detectEveryMax must be an integer, got ${o.detectEveryMax}`);
    this.every = this.detectEvery;
  }

  /** The detection cadence now: detectEvery, raised under load up to detectEveryMax. */
  get cadence(): number {
    return this.every;
  }

  /** Should frame `seq` go to the detector (cadence), or be carried by prediction? */
  shouldDetect(seq: number): boolean {
    if (this.every > this.detectEvery && seq - Math.max(this.droppedSeq, this.raisedSeq) >= CADENCE.RELAX_FRAMES) {
      this.every--;
      this.raisedSeq = seq; // the next step down waits another RELAX_FRAMES
    }
    return this.every <= 1 || seq - this.lastDetectedSeq >= this.every || this.tracker.all().length === 0;
  }

  /** A frame of this camera was dropped at `seq` (the engine did not keep up): raise the cadence. */
  dropped(seq: number): void {
    this.droppedSeq = seq;
    if (this.every >= this.detectEveryMax) return;
    this.drops = [...this.drops.filter((s) => seq - s < CADENCE.WINDOW), seq];
    if (this.drops.length >= CADENCE.RAISE_DROPS && seq - this.raisedSeq >= CADENCE.RAISE_GAP) {
      this.every++;
      this.raisedSeq = seq;
      this.drops = [];
    }
  }

  /** What the engine worker needs for frame `seq`: predicted boxes and which tracks need a reading. */
  hints(seq: number): { id: number; box: Box; read: boolean; growArea: number; lost?: boolean }[] {
    return this.tracker.predicted(seq).map(({ id, box, lost }) => {
      const p = this.people.get(id);
      const n = p ? p.verdict.needsReading(seq, this.reading, this.o.rule) : { read: true, growArea: 0 };
      return { id, box: roundBox(box), ...n, ...(lost ? { lost } : {}) };
    });
  }

  /**
   * A detected frame's faces → faces labelled by their tracks, and events. `tsMs`: the frame's capture
   * time (wall clock, for `at`); `mono`: the same moment on the monotonic clock (durations).
   */
  detected(seq: number, tsMs: number, faces: readonly DetectedFace[], mono = tsMs): FrameOutcome {
    this.lastDetectedSeq = seq;
    const assigned = faces.every((f) => f.match !== undefined) && faces.length ? faces.map((f) => f.match ?? null) : undefined;
    const u = this.tracker.update(seq, faces, assigned);
    const events: PersonEvent[] = [];
    const bestImproved: Person[] = [];
    const out: TrackedFace[] = [];
    faces.forEach((f, i) => {
      const id = u.assigned[i];
      if (id === null) return; // a weak detection that continues no track
      let p = this.people.get(id);
      if (!p) {
        p = { track: id, person: `${this.camera}:${tsMs}:${id}`, verdict: new TrackVerdict(), firstSeenMs: tsMs, lastSeenMs: tsMs, firstSeenMono: mono, lastSeenMono: mono, best: { box: f.box, seq, weight: -1 }, entered: false, announced: null };
        this.people.set(id, p);
      }
      p.lastSeenMs = tsMs;
      p.lastSeenMono = mono;
      const classified = f.classified !== false && Object.keys(f.scores).length > 0;
      if (classified) p.verdict.add(seq, f.scores, f.box, f.detScore);
      const w = f.box[2] * f.box[3] * f.detScore;
      if (w > p.best.weight) {
        p.best = { box: f.box, seq, weight: w };
        bestImproved.push(p);
      }
      const v = p.verdict.verdict(this.o.rule);
      out.push({ box: f.box, ...(f.crop ? { crop: f.crop } : {}), detScore: f.detScore, label: v?.label ?? '', score: v?.score ?? 0, scores: v?.scores ?? {}, track: id, classified });
    });
    for (const t of u.confirmed) {
      const p = this.people.get(t.id)!;
      p.entered = true;
      events.push(this.event('enter', p, tsMs));
    }
    for (const p of this.people.values()) {
      if (!p.entered || !p.verdict.settled(this.reading, this.o.rule)) continue;
      const v = p.verdict.verdict(this.o.rule)!;
      if (v.label !== p.announced) {
        p.announced = v.label;
        events.push(this.event('verdict', p, tsMs));
      }
    }
    events.push(...this.leave(u.removed, tsMs));
    return { faces: out, events, bestImproved };
  }

  /** A frame carried by prediction (not detected): confirmed tracks at their predicted boxes. */
  predicted(seq: number, tsMs: number): FrameOutcome {
    const events = this.leave(this.tracker.advance(seq), tsMs);
    const pred = new Map(this.tracker.predicted(seq).map((x) => [x.id, x.box]));
    const faces: TrackedFace[] = [];
    for (const t of this.tracker.all()) {
      // only tracks seen on the last detected frame: a lost one is not drawn where it is guessed to be
      if (!t.confirmed || t.lastSeenSeq < this.lastDetectedSeq) continue;
      const v = this.people.get(t.id)?.verdict.verdict(this.o.rule);
      faces.push({ box: roundBox(pred.get(t.id)!), detScore: t.detScore, label: v?.label ?? '', score: v?.score ?? 0, scores: v?.scores ?? {}, track: t.id, classified: false });
    }
    return { faces, events, bestImproved: [] };
  }

  /** Everyone leaves (stream lost, daemon stopping). */
  clear(tsMs: number): PersonEvent[] {
    return this.leave(this.tracker.clear(), tsMs);
  }

  person(track: number): Person | undefined {
    return this.people.get(track);
  }

  private leave(removed: readonly Track[], tsMs: number): PersonEvent[] {
    const events: PersonEvent[] = [];
    for (const t of removed) {
      const p = this.people.get(t.id);
      this.people.delete(t.id);
      if (p?.entered) events.push(this.event('leave', p, p.lastSeenMs));
    }
    void tsMs;
    return events;
  }

  private event(type: PersonEventType, p: Person, atMs: number): PersonEvent {
    const v = p.verdict.verdict(this.o.rule);
    return {
      type,
      camera: this.camera,
      track: p.track,
      person: p.person,
      at: new Date(atMs).toISOString(),
      label: v?.label ?? null,
      score: v ? Math.round(v.score * 1e4) / 1e4 : null,
      box: roundBox(p.best.box),
      readings: p.verdict.readings,
      ...(type === 'leave' ? { durationMs: Math.max(0, Math.round(p.lastSeenMono - p.firstSeenMono)) } : {}),
      snapshot: false,
    };
  }
}
