// Faces mode: the engine detects and classifies every face of a frame (one `faces` request, or one
// `facesBatch` for frames of several cameras); the answer becomes the frame's label and counts with
// boxes in the camera's pixels. Motion gating's reference is updated with each detected frame.
import type { CameraConfig } from '../camera.js';
import type { Engine } from '../engines/engine.js';
import type { FacesOptions, FacesResultMsg, FacesTracking } from '../engines/protocol.js';
import { FRAME_LABEL_MIN_FACE, frameLabel } from '../face-events.js';
import type { MotionReuse } from '../motion-reuse.js';
import { toSourceBox } from '../pre/tensor.js';
import type { ResultSink } from '../results.js';
import type { Frame } from '../sources/process-source.js';
import type { Mode, ModeContext } from './mode.js';
import type { PeopleStage, TrackedFaceResult } from '../tracking/stage.js';
import type { FaceResult } from '../engines/protocol.js';
import { latencyMs } from '../clock.js';

/** The largest frame of a faces camera when the config names none (a larger camera is scaled down to fit). */
export const FACES_FRAME_DEFAULT = { width: 1280, height: 720 } as const;

export class FacesMode implements Mode {
  readonly name = 'faces';
  readonly batches = true;

  constructor(
    private readonly sink: ResultSink,
    private readonly motion: MotionReuse,
    private readonly options: FacesOptions = {},
    /** Issue 14: tracking and people (none: every face classified on every frame, as before). */
    private readonly people?: PeopleStage,
    /** Faces shorter than this (px) make the frame label only when no face is taller (D121; 0 = every face). */
    private readonly frameLabelMinFace: number = FRAME_LABEL_MIN_FACE,
  ) {}

  /** I420 in the decoder's own format at the camera's size, at most frameWidth x frameHeight (D30). */
  frameSize(cam: CameraConfig): { width: number; height: number; format: 'i420' } {
    return { width: cam.frameWidth ?? FACES_FRAME_DEFAULT.width, height: cam.frameHeight ?? FACES_FRAME_DEFAULT.height, format: 'i420' };
  }

  async run(frames: Frame[], engine: Engine, ctx: ModeContext): Promise<void> {
    // HOOK (issue 14): each frame's request carries its camera's tracking hints
    if (frames.length === 1) {
      const f = frames[0];
      const r = await engine.faces(f.slot ?? f.data, f.width, f.height, { ...this.options, ...this.trackingOf(f) }, f.format);
      return this.result(f, r, engine, ctx, 1, false, perFace(r.classifyMs, readCount(r)));
    }
    const r = await engine.facesBatch(frames.map((f) => ({ data: f.slot ?? f.data, width: f.width, height: f.height, format: f.format, ...this.trackingOf(f) })), this.options);
    if (r.results.length !== frames.length) throw new Error(`engine answered ${r.results.length} results for ${frames.length} frames`);
    // a batch's classifier time is shared (each frame reports the batch's total): per face of the batch
    const ms = r.results.length ? perFace(r.results[0].classifyMs, r.results.reduce((n, x) => n + readCount(x), 0)) : undefined;
    r.results.forEach((x, i) => this.result(frames[i], x, engine, ctx, frames.length, false, readCount(x) ? ms : undefined));
  }

  /** A frame's faces answer: its label and counts, boxes in the camera's pixels, out through the sink. */
  /** Issue 14: a frame between detections (people.detectEvery), answered from the tracks' predicted boxes. */
  predicted(f: Frame, engine: Engine, ctx: ModeContext): void {
    this.result(f, { faces: [], detectMs: 0, cropMs: 0, classifyMs: 0, classifierRuns: 0, inferMs: 0 }, engine, ctx, 1, true);
  }

  /** Issue 14: a camera lost its stream; its people leave. */
  streamLost(camera: string, ctx: ModeContext): void {
    this.people?.reset(camera, Date.now(), (b) => this.toCamera(camera, b, ctx, this.sizes.get(camera) ?? null));
  }

  /** Each camera's last frame size (boxes of people leaving after a lost stream). */
  private readonly sizes = new Map<string, { width: number; height: number }>();

  private trackingOf(f: Frame): { tracking?: FacesTracking } {
    const tracking = this.people?.request(f.camera, f.seq);
    return tracking ? { tracking } : {};
  }

  /** A box in the frame's pixels → the camera's own pixels (when the source knows them). */
  private toCamera(camera: string, box: [number, number, number, number], ctx: ModeContext, f: Pick<Frame, 'width' | 'height'> | null): [number, number, number, number] {
    const src = ctx.sourceSize(camera);
    return src && f ? toSourceBox(box, src.width, src.height, f.width, f.height) : box;
  }

  private result(f: Frame, r: Omit<FacesResultMsg, 'type' | 'id'>, engine: Engine, ctx: ModeContext, batch = 1, predicted = false, classifyMsPerFace?: number): void {
    // HOOK (issue 14): with tracking, each face is labelled by its track's verdict
    const people = this.people?.has(f.camera) ? this.people : undefined;
    this.sizes.set(f.camera, { width: f.width, height: f.height });
    const toCamera = (b: [number, number, number, number]) => this.toCamera(f.camera, b, ctx, f);
    const faces: readonly (FaceResult | TrackedFaceResult)[] = people ? (predicted ? people.predicted(f, toCamera) : people.detected(f, r.faces, toCamera)) : r.faces;
    const { label, counts } = frameLabel(faces, this.frameLabelMinFace);
    const deciding = label === 'no_mask' ? faces.filter((x) => x.label === 'no_mask').sort((a, b) => b.score - a.score)[0] : label === 'mask' ? faces.filter((x) => x.label !== 'no_mask').sort((a, b) => a.score - b.score)[0] : undefined;
    const model = engine.loaded?.model ?? { name: ctx.manifest.name, version: ctx.manifest.version };
    const det = engine.detectorLoaded?.model ?? { name: '', version: '' };
    ctx.counted(f.camera);
    const round = (x: number) => Math.round(x * 100) / 100;
    const src = ctx.sourceSize(f.camera);
    const result = {
      camera: f.camera,
      frame: f.seq,
      ts: new Date(f.ts).toISOString(),
      label,
      score: deciding?.score ?? null,
      scores: deciding?.scores ?? {},
      faces: faces.map((x) => ({ box: src ? toSourceBox(x.box, src.width, src.height, f.width, f.height) : x.box, label: x.label, score: x.score, detScore: x.detScore, ...('track' in x ? { track: x.track, classified: x.classified } : {}) })),
      counts,
      // The size the boxes refer to: the camera's own resolution when the source reported it.
      frameSize: (src ? [src.width, src.height] : [f.width, f.height]) as [number, number],
      model: { name: model.name, version: model.version },
      detector: { name: det.name, version: det.version },
      latencyMs: latencyMs(f),
      inferMs: round(r.inferMs),
      detectMs: round(r.detectMs),
      classifyMs: round(r.cropMs + r.classifyMs),
      ...(batch > 1 ? { batch } : {}),
      ...(predicted ? { predicted: true } : {}),
    };
    // the motion gate's new reference and last result (a predicted frame is neither), then out
    if (!predicted) this.motion.detected(f, result, faces);
    this.sink.faces(result, f, faces, classifyMsPerFace);
  }
}

/** Faces the classifier read in an engine answer (with tracking, only those marked classified). */
const readCount = (r: Pick<FacesResultMsg, 'faces'>) => r.faces.filter((x) => x.classified !== false).length;
const perFace = (classifyMs: number, faces: number) => (faces > 0 && Number.isFinite(classifyMs) ? classifyMs / faces : undefined);
