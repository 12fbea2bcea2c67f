// People in the frame path (issue 14): one CameraPeople per faces-mode camera. The pipeline asks it
// for a faces request's tracking hints, hands it each answered frame (faces labelled by their
// track's verdict come back) and, with a detection cadence, the frames it carries by prediction.
// Events (camera pixels) and snapshots of unmasked people go out through callbacks; people are
// counted when they leave.
import type { FaceResult, FacesTracking } from '../engines/protocol.js';
import type { Frame } from '../sources/process-source.js';
import { ASSOCIATION_DEFAULTS, type Box } from './associate.js';
import { PeopleCounts } from './counts.js';
import { keepFrameRegion } from './frame-pixels.js';
import { CameraPeople, type FrameOutcome, type PeopleOptions, type PersonEvent } from './people.js';
import { snapshotJpeg, snapshotRegion, type Privacy, type SnapshotCrop } from './snapshot.js';

export interface PeopleStageOptions extends PeopleOptions {
  /** Detector score at or above which a face is confident (the detector's threshold). */
  high: number;
  /** Weaker faces down to this score may continue a track. */
  low: number;
  privacy: Privacy;
  onEvents: (events: PersonEvent[]) => void;
  onSnapshot?: (camera: string, jpeg: Buffer, event: PersonEvent) => void;
  onError?: (err: Error) => void;
}

/**
 * The low-score pass's floor: `lowScore`, but at most 0.7 of the detector's threshold, so there is a
 * band of weak faces below it whatever the detector (0.49 for UltraFace RFB-320 at 0.7, 0.28 for the
 * masked-face RFB-640 at 0.4).
 */
export function lowScoreFor(high: number, lowScore: number): number {
  return Math.min(lowScore, Math.round(high * 0.7 * 100) / 100);
}

/** A face of the per-frame payload with its track (working pixels). */
export type TrackedFaceResult = FaceResult & { track: number; classified: boolean };

type ToCamera = (box: Box) => Box;

export class PeopleStage {
  private cams = new Map<string, CameraPeople>();
  private crops = new Map<string, SnapshotCrop>();
  private snapshotSeq = new Map<string, number>();
  readonly counts = new PeopleCounts();

  constructor(private readonly o: PeopleStageOptions) {}

  add(camera: string): void {
    // the tracker's confident faces are the detector's (the worker's selection uses the same `high`)
    const tracker = { ...this.o.tracker, association: { ...ASSOCIATION_DEFAULTS, ...this.o.tracker?.association, high: this.o.high } };
    this.cams.set(camera, new CameraPeople(camera, { ...this.o, tracker }));
    this.counts.camera(camera);
  }

  has(camera: string): boolean {
    return this.cams.has(camera);
  }

  /** A frame of the camera was dropped (displaced unsent): the cadence may rise (D96). */
  dropped(f: Pick<Frame, 'camera' | 'seq'>): void {
    this.cams.get(f.camera)?.dropped(f.seq);
  }

  /** Each camera's detection cadence now (1 = every frame). */
  cadences(): Record<string, number> {
    return Object.fromEntries([...this.cams].map(([id, c]) => [id, c.cadence]));
  }

  /** Cadence: is this frame carried by prediction instead of going to the detector? */
  carries(f: Pick<Frame, 'camera' | 'seq'>): boolean {
    const c = this.cams.get(f.camera);
    return !!c && !c.shouldDetect(f.seq);
  }

  /** Tracking hints for the faces request of frame `seq`. */
  request(camera: string, seq: number): FacesTracking | undefined {
    const c = this.cams.get(camera);
    if (!c) return undefined;
    const a = c.tracker.o.association;
    return { tracks: c.hints(seq), high: this.o.high, low: this.o.low, iou: a.iou, lowIou: a.lowIou };
  }

  /** An answered frame: its faces labelled by their tracks. */
  detected(f: Frame, faces: readonly FaceResult[], toCamera: ToCamera): TrackedFaceResult[] {
    const c = this.cams.get(f.camera);
    if (!c) return faces.map((x, i) => ({ ...x, track: i, classified: true }));
    const out = c.detected(f.seq, f.ts, faces, f.mono);
    this.keepBestFaces(f, out);
    this.emit(c, out.events, toCamera);
    return out.faces.map((x) => ({ ...x, crop: x.crop ?? (x.box.map(Math.round) as Box) }));
  }

  /** A frame carried by prediction: the tracks' predicted faces. */
  predicted(f: Frame, toCamera: ToCamera): TrackedFaceResult[] {
    const c = this.cams.get(f.camera)!;
    const out = c.predicted(f.seq, f.ts);
    this.emit(c, out.events, toCamera);
    return out.faces.map((x) => ({ ...x, crop: x.box.map(Math.round) as Box }));
  }

  /** The camera's stream was lost: everyone in it leaves. */
  reset(camera: string, tsMs: number, toCamera: ToCamera): void {
    const c = this.cams.get(camera);
    if (c) this.emit(c, c.clear(tsMs), toCamera);
  }

  /** The frame's bytes around each improved best face, kept as they are (made into an image only for a snapshot, D167). */
  private keepBestFaces(f: Frame, out: FrameOutcome): void {
    if (this.o.privacy === 'off') return;
    for (const p of out.bestImproved) {
      const region = snapshotRegion(p.best.box, f.width, f.height);
      const others = this.o.privacy === 'blur' ? out.faces.filter((x) => x.track !== p.track).map((x) => x.box) : [];
      this.crops.set(p.person, { seq: f.seq, kept: keepFrameRegion(f, region), region, others });
    }
  }

  private emit(c: CameraPeople, events: PersonEvent[], toCamera: ToCamera): void {
    if (!events.length) return;
    for (const e of events) {
      e.box = toCamera(e.box);
      const crop = this.crops.get(e.person);
      if (crop && e.label === 'no_mask' && (e.type === 'verdict' || e.type === 'leave') && (this.snapshotSeq.get(e.person) ?? -1) < crop.seq && this.o.onSnapshot) {
        this.snapshotSeq.set(e.person, crop.seq);
        const send = this.o.onSnapshot;
        const ev = { ...e };
        snapshotJpeg(crop).then((jpeg) => send(c.camera, jpeg, ev), (err: Error) => this.o.onError?.(err));
      }
      e.snapshot = this.snapshotSeq.has(e.person);
      if (e.type === 'leave') {
        this.counts.add(c.camera, e.label, Date.parse(e.at));
        this.crops.delete(e.person);
        this.snapshotSeq.delete(e.person);
      }
    }
    this.o.onEvents(events);
  }
}
