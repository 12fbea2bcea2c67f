// The frame path inside the supervisor: camera sources → newest-wins slots → engine → results.
import type { Manifest } from '../models/manifest.js';
import { FrameSlots } from './frame-slots.js';
import { classify } from '../models/classify.js';
import { FfmpegSource, type Frame } from './sources/ffmpeg-source.js';
import { GstSource } from './sources/gst-source.js';
import type { ProcessSource } from './sources/process-source.js';
import type { FaceResult, FacesOptions, FacesResultMsg, FacesTracking } from './engines/protocol.js';
import { frameLabel, type FaceCounts, type FrameLabel } from './face-events.js';
import { toSourceBox } from './pre/tensor.js';
import type { CameraConfig } from './camera.js';
import type { Engine } from './engines/pool.js';
import { MotionReuse } from './motion-reuse.js';
import type { Logger } from './log.js';
import type { PeopleStage, TrackedFaceResult } from './tracking/stage.js';

export interface FrameResult {
  camera: string;
  frame: number;
  ts: string;
  label: string;
  score: number;
  scores: Record<string, number>;
  model: { name: string; version: string };
  latencyMs: number;
  inferMs: number;
}

/** A frame of a camera in faces mode: everything a FrameResult has, plus the faces. */
export interface FacesFrameResult extends Omit<FrameResult, 'label' | 'score'> {
  /** no_mask if any face is unmasked, mask if all are masked, no_face if none was found. */
  label: FrameLabel;
  /** Score of the deciding face (the most confident unmasked one, or the least confident masked one); null for no_face. */
  score: number | null;
  /** With tracking (issue 14): `label`/`score` are the face's track's verdict, `classified` whether it was read on this frame. */
  faces: (Pick<FaceResult, 'box' | 'label' | 'score' | 'detScore'> & { track?: number; classified?: boolean })[];
  counts: FaceCounts;
  /** Working resolution the boxes are in. */
  frameSize: [number, number];
  detector: { name: string; version: string };
  detectMs: number;
  classifyMs: number;
  /** Frames in the engine request this one was part of, when batched across cameras (> 1). */
  batch?: number;
  /** Motion gating: true when this frame was not detected and the result of frame `reusedFrom` was published again. */
  reused?: boolean;
  reusedFrom?: number;
  /** Detection cadence (issue 14): true when this frame was not detected and its faces are the tracks' predicted boxes. */
  predicted?: boolean;
}

export interface PipelineOptions {
  cameras: CameraConfig[];
  /** Detector and crop settings sent with every faces request. */
  faces?: FacesOptions;
  /** Where faces-mode results go, with the frame they came from (for the preview). */
  /** r.faces are in source pixels; `workingFaces` are the same faces in the frame's own pixels (for drawing on it). */
  onFaces?: (r: FacesFrameResult, frame: Frame, workingFaces: readonly FaceResult[]) => void;
  ffmpegPath: string;
  rtspTimeoutSec: number;
  stallSec: number;
  restartMinMs: number;
  restartMaxMs: number;
  /** A run this long without trouble resets a camera's backoff (s); default 30. */
  healthyResetSec?: number;
  /** Faces mode: frames of different cameras sent to the engine together (maxFrames 1 = off). */
  batch?: { maxFrames: number; waitMs: number };
  /** Tracking, per-person verdicts and events (issue 14; pipelines/tracking/stage.ts). */
  people?: PeopleStage;
}

export interface CameraStats {
  frames: number;
  results: number;
  dropped: number;
  /** Frames answered with the last result instead of a detection (motion gating). */
  reused: number;
  restarts: number;
  state: string;
  lastError: string | null;
}

export class Pipeline {
  readonly sources = new Map<string, ProcessSource>();
  private slots = new FrameSlots<Frame>();
  /** Engine requests in flight (up to the engine's size: one per worker), and their cameras. */
  private inFlight = 0;
  private busyCameras = new Set<string>();
  private results = new Map<string, number>();
  private failed = new Map<string, number>();
  private stopped = false;
  private facesCameras = new Set<string>();
  private readonly motion = new MotionReuse();
  /** Frames handed to the engine (taken = published + failed once nothing is in flight). */
  private taken = 0;
  private pending = new Set<Promise<void>>();
  private batchTimer: NodeJS.Timeout | null = null;
  /** A camera with a frame in flight waits: its results stay in frame order. */
  private readonly isFree = (f: Frame) => !this.busyCameras.has(f.camera);
  private readonly isFreeFaces = (f: Frame) => this.facesCameras.has(f.camera) && !this.busyCameras.has(f.camera);
  private readonly onEngineReady = () => this.pump();

  constructor(
    private readonly opts: PipelineOptions,
    private manifest: Manifest,
    private engine: Engine,
    private readonly publish: (r: FrameResult, frame: Frame) => void,
    private readonly log: Logger,
  ) {}

  start(): void {
    for (const cam of this.opts.cameras) {
      const faces = cam.mode === 'faces';
      const width = faces ? (cam.frameWidth ?? 1280) : this.manifest.input.width;
      const height = faces ? (cam.frameHeight ?? 720) : this.manifest.input.height;
      if (faces) this.facesCameras.add(cam.id);
      this.motion.add(cam);
      const common = {
        id: cam.id,
        url: cam.url,
        fps: cam.fps,
        width,
        height,
        rtspTimeoutSec: this.opts.rtspTimeoutSec,
        stallSec: this.opts.stallSec,
        restartMinMs: this.opts.restartMinMs,
        restartMaxMs: this.opts.restartMaxMs,
        healthyResetSec: this.opts.healthyResetSec,
      };
      const src =
        cam.decoder === 'gstreamer-nv' || cam.decoder === 'gstreamer-sw'
          ? new GstSource({ ...common, decoder: cam.decoder })
          : new FfmpegSource({ ...common, loop: cam.loop, ffmpegPath: this.opts.ffmpegPath, ...(cam.roi ? { roi: cam.roi } : {}) });
      const log = this.log.child({ camera: cam.id });
      src.on('state', (state: string, reason?: string) => (state === 'backoff' ? log.warn('camera stream lost', { reason }) : log.info(`camera ${state}`)));
      src.on('state', (state: string) => state !== 'running' && this.motion.reset(cam.id));
      // HOOK (issue 14): tracks of a camera that lost its stream end (their people leave)
      if (faces && this.opts.people) {
        this.opts.people.add(cam.id);
        src.on('state', (state: string) => state === 'backoff' && this.opts.people?.reset(cam.id, Date.now(), (b) => this.toCameraBox(cam.id, b, width, height)));
      }
      src.on('frame', (f: Frame) => this.onFrame(f));
      this.sources.set(cam.id, src);
      src.start();
    }
    this.engine.on('ready', this.onEngineReady);
  }

  /**
   * Hot swap: frames taken from now on go to `engine` (already loaded) and are read with `manifest`.
   * Resolves once the frames in flight on the old engine, if any, have been published or counted, so
   * the caller may then stop the old engine. The input size must not change (the sources keep theirs).
   */
  async useEngine(engine: Engine, manifest: Manifest): Promise<void> {
    const { width, height } = this.manifest.input;
    if (manifest.input.width !== width || manifest.input.height !== height)
      throw new Error(`the new model's input is ${manifest.input.width}x${manifest.input.height}, the cameras deliver ${width}x${height}`);
    this.engine.off('ready', this.onEngineReady);
    this.engine = engine;
    this.manifest = manifest;
    engine.on('ready', this.onEngineReady);
    await Promise.all([...this.pending]);
    this.pump();
  }

  /** Totals over all cameras: frames handed to the engine, results published, frames that failed. */
  frameCounts(): { taken: number; published: number; failed: number } {
    const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    return { taken: this.taken, published: sum(this.results), failed: sum(this.failed) };
  }

  /** The model the frames go to now. */
  get activeManifest(): Manifest {
    return this.manifest;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.batchTimer) clearTimeout(this.batchTimer);
    await Promise.all([...this.sources.values()].map((s) => s.stop()));
  }

  stats(): Record<string, CameraStats> {
    const out: Record<string, CameraStats> = {};
    for (const [id, s] of this.sources) {
      const st = s.status();
      out[id] = {
        frames: st.frames,
        results: this.results.get(id) ?? 0,
        dropped: (this.slots.dropped.get(id) ?? 0) + (this.failed.get(id) ?? 0),
        reused: this.motion.reusedCount(id),
        restarts: st.restarts,
        state: st.state,
        lastError: st.lastError,
      };
    }
    return out;
  }

  private onFrame(f: Frame): void {
    if (this.stopped) return f.release();
    // HOOK (issue 14): detection cadence — a frame between detections, with nothing of its camera
    // waiting or in flight, is answered at once from the tracks' predicted boxes
    if (this.opts.people?.carries(f) && !this.busyCameras.has(f.camera) && !this.slots.waiting((x) => x.camera === f.camera).length) {
      try {
        this.facesResult(f, { faces: [], detectMs: 0, cropMs: 0, classifyMs: 0, classifierRuns: 0, inferMs: 0 }, this.engine, 1, true);
      } catch (e) {
        this.log.error('result handling failed', { err: (e as Error).message });
      }
      return f.release();
    }
    const reuse = this.motion.offer(f);
    if (reuse) {
      // no motion since the last detection: its result again, the frame never reaches the engine
      try {
        this.opts.onFaces?.(reuse.result, f, reuse.workingFaces);
      } catch (e) {
        this.log.error('result handling failed', { err: (e as Error).message });
      }
      return f.release();
    }
    // A frame displaced from its camera's slot was never sent: its buffer goes back to the pool.
    this.slots.offer(f)?.release();
    this.pump();
  }

  /**
   * The frames for the next engine request, or none yet. With batching on, faces-mode frames go
   * together, up to maxFrames of different cameras; a partial batch waits until the oldest of its
   * frames is waitMs old (a timer calls pump again), like DeepStream's muxer batched-push-timeout.
   */
  private nextFrames(): Frame[] {
    const b = this.opts.batch;
    if (!b || b.maxFrames <= 1) return this.slots.takeMany(1, this.isFree);
    const faces = this.slots.waiting(this.isFreeFaces);
    if (faces.length && faces.length < b.maxFrames && b.waitMs > 0 && this.slots.waiting(this.isFree).length === faces.length) {
      const due = Math.min(...faces.map((f) => f.ts)) + b.waitMs - Date.now();
      if (due > 0) {
        this.batchTimer ??= setTimeout(() => {
          this.batchTimer = null;
          this.pump();
        }, due);
        return [];
      }
    }
    if (faces.length) return this.slots.takeMany(b.maxFrames, this.isFreeFaces);
    return this.slots.takeMany(1, this.isFree);
  }

  /** Send waiting frames to the engine while it has a worker free (one request per worker). */
  private pump(): void {
    while (!this.stopped && this.engine.ready && this.inFlight < this.engine.size) {
      const frames = this.nextFrames();
      if (!frames.length) return;
      this.send(frames);
    }
  }

  private send(frames: Frame[]): void {
    this.inFlight++;
    for (const x of frames) this.busyCameras.add(x.camera);
    this.taken += frames.length;
    const m = this.manifest;
    const engine = this.engine;
    const f = frames[0];
    const work = frames.length > 1 ? this.runFacesBatch(frames, engine) : this.facesCameras.has(f.camera) ? this.runFaces(f, engine) : engine.infer(f.data, f.width, f.height).then(
        (out) => {
          const row = out.outputs.get(m.output.name);
          if (!row) throw new Error(`engine result has no output "${m.output.name}"`);
          const c = classify(row.data, m.labels, m.output.kind);
          const model = engine.loaded?.model ?? { name: m.name, version: m.version };
          this.results.set(f.camera, (this.results.get(f.camera) ?? 0) + 1);
          this.publish({
            camera: f.camera,
            frame: f.seq,
            ts: new Date(f.ts).toISOString(),
            label: c.label,
            score: c.score,
            scores: c.scores,
            model: { name: model.name, version: model.version },
            latencyMs: Date.now() - f.ts,
            inferMs: Math.round(out.inferMs * 100) / 100,
          }, f);
        },
    );
    const done: Promise<void> = work
      .then(
        // Answered, so the worker has read the whole frame: the buffer may be reused. (A frame that
        // failed is left to the garbage collector: a write to a dying worker may still hold it.)
        () => frames.forEach((x) => x.release()),
        (e) => {
          // The frames could not be classified (engine crash, timeout): counted, never retried.
          for (const x of frames) this.failed.set(x.camera, (this.failed.get(x.camera) ?? 0) + 1);
          this.log.debug('frame not classified', { camera: f.camera, frame: f.seq, frames: frames.length, err: (e as Error).message });
        },
      )
      .catch((e) => this.log.error('result handling failed', { err: (e as Error).message }))
      .finally(() => {
        for (const x of frames) {
          this.motion.settled(x);
          this.busyCameras.delete(x.camera);
        }
        this.inFlight--;
        this.pending.delete(done);
        setImmediate(() => this.pump());
      });
    this.pending.add(done);
  }

  private async runFacesBatch(frames: Frame[], engine: Engine): Promise<void> {
    // HOOK (issue 14): each frame carries its camera's tracking hints
    const r = await engine.facesBatch(frames.map((f) => ({ data: f.data, width: f.width, height: f.height, ...this.trackingOf(f) })), this.opts.faces ?? {});
    if (r.results.length !== frames.length) throw new Error(`engine answered ${r.results.length} results for ${frames.length} frames`);
    r.results.forEach((x, i) => this.facesResult(frames[i], x, engine, frames.length));
  }

  private async runFaces(f: Frame, engine: Engine): Promise<void> {
    // HOOK (issue 14): the camera's tracking hints go with the request
    this.facesResult(f, await engine.faces(f.data, f.width, f.height, { ...this.opts.faces, ...this.trackingOf(f) }), engine);
  }

  /** Issue 14: the tracking hints of a frame's faces request (none without tracking). */
  private trackingOf(f: Frame): { tracking?: FacesTracking } {
    const tracking = this.opts.people?.request(f.camera, f.seq);
    return tracking ? { tracking } : {};
  }

  /** A box in a camera's working pixels → the camera's own pixels (when ffmpeg reported them). */
  private toCameraBox(camera: string, box: [number, number, number, number], workW: number, workH: number): [number, number, number, number] {
    const src = this.sources.get(camera)?.sourceSize ?? null;
    return src ? toSourceBox(box, src.width, src.height, workW, workH) : box;
  }

  /** A frame's faces answer: its label and counts, boxes in the camera's pixels, out through onFaces. */
  private facesResult(f: Frame, r: Omit<FacesResultMsg, 'type' | 'id'>, engine: Engine, batch = 1, predicted = false): void {
    // HOOK (issue 14): with tracking, each face is labelled by its track's verdict
    const people = this.opts.people;
    const toCamera = (b: [number, number, number, number]) => this.toCameraBox(f.camera, b, f.width, f.height);
    const faces: readonly (FaceResult | TrackedFaceResult)[] = people?.has(f.camera) ? (predicted ? people.predicted(f, toCamera) : people.detected(f, r.faces, toCamera)) : r.faces;
    const { label, counts } = frameLabel(faces);
    const deciding = label === 'no_mask' ? faces.filter((x) => x.label === 'no_mask').sort((a, b) => b.score - a.score)[0] : label === 'mask' ? [...faces].sort((a, b) => a.score - b.score)[0] : undefined;
    const model = engine.loaded?.model ?? { name: this.manifest.name, version: this.manifest.version };
    const det = engine.detectorLoaded?.model ?? { name: '', version: '' };
    this.results.set(f.camera, (this.results.get(f.camera) ?? 0) + 1);
    const round = (x: number) => Math.round(x * 100) / 100;
    const src = this.sources.get(f.camera)?.sourceSize ?? null;
    this.facesDetected(
      {
        camera: f.camera,
        frame: f.seq,
        ts: new Date(f.ts).toISOString(),
        label,
        score: deciding?.score ?? null,
        scores: deciding?.scores ?? {},
        faces: faces.map((x) => ({ box: src ? toSourceBox(x.box, src.width, src.height, f.width, f.height) : x.box, label: x.label, score: x.score, detScore: x.detScore, ...('track' in x ? { track: x.track, classified: x.classified } : {}) })),
        counts,
        // The size the boxes refer to: the camera's own resolution when ffmpeg reported it.
        frameSize: src ? [src.width, src.height] : [f.width, f.height],
        model: { name: model.name, version: model.version },
        detector: { name: det.name, version: det.version },
        latencyMs: Date.now() - f.ts,
        inferMs: round(r.inferMs),
        detectMs: round(r.detectMs),
        classifyMs: round(r.cropMs + r.classifyMs),
        ...(batch > 1 ? { batch } : {}),
        ...(predicted ? { predicted: true } : {}),
      },
      f,
      faces,
    );
  }

  /** A detected faces result: the motion gate's new reference and last result, then out. */
  private facesDetected(r: FacesFrameResult, f: Frame, workingFaces: readonly FaceResult[]): void {
    if (!r.predicted) this.motion.detected(f, r, workingFaces);
    this.opts.onFaces?.(r, f, workingFaces);
  }
}
