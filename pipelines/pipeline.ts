// The frame path's scheduler: camera sources → newest-wins slots → engine → results. It knows
// cameras, slots, requests in flight and the engine; what a request is and what its answer
// becomes is the camera's mode (modes/classify.ts, modes/faces.ts), where results go is the sink.
import type { Manifest } from '../models/manifest.js';
import { FrameSlots, batchTake } from './frame-slots.js';
import type { FacesOptions } from './engines/protocol.js';
import type { CameraConfig } from './camera.js';
import type { Engine } from './engines/engine.js';
import { MotionReuse } from './motion-reuse.js';
import type { Logger } from './log.js';
import type { ResultSink } from './results.js';
import { createSource, type Frame, type FrameSource, type SourceSettings } from './sources/source.js';
import { ClassifyMode } from './modes/classify.js';
import { FacesMode } from './modes/faces.js';
import type { Mode, ModeContext } from './modes/mode.js';
import type { PeopleStage } from './tracking/stage.js';
import { monoMs } from './clock.js';

export type { FacesFrameResult, FrameResult, ResultSink } from './results.js';

export interface PipelineOptions extends SourceSettings {
  cameras: CameraConfig[];
  /** Detector and crop settings sent with every faces request. */
  faces?: FacesOptions;
  /** Faces mode: frames of different cameras sent to the engine together (maxFrames 1 = off). */
  batch?: { maxFrames: number; waitMs: number };
  /** Tracking, per-person verdicts and events (issue 14; pipelines/tracking/stage.ts). */
  people?: PeopleStage;
  /** Faces mode: faces shorter than this (px) make the frame label only when no face is taller (D121). */
  frameLabelMinFace?: number;
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
  readonly sources = new Map<string, FrameSource>();
  private slots = new FrameSlots<Frame>();
  /** Engine requests in flight (up to the engine's size: one per worker), and their cameras. */
  private inFlight = 0;
  private busyCameras = new Set<string>();
  private results = new Map<string, number>();
  private failed = new Map<string, number>();
  private stopped = false;
  private readonly modes = new Map<string, Mode>();
  private readonly motion = new MotionReuse();
  private readonly classifyMode: ClassifyMode;
  private readonly facesMode: FacesMode;
  /** Frames handed to the engine (taken = published + failed once nothing is in flight). */
  private taken = 0;
  private pending = new Set<Promise<void>>();
  private batchTimer: NodeJS.Timeout | null = null;
  /** A camera with a frame in flight waits: its results stay in frame order. */
  private readonly isFree = (f: Frame) => !this.busyCameras.has(f.camera);
  private readonly isFreeBatching = (f: Frame) => this.modes.get(f.camera)!.batches && !this.busyCameras.has(f.camera);
  private readonly onEngineReady = () => this.pump();
  private readonly ctx: ModeContext;

  constructor(
    private readonly opts: PipelineOptions,
    private manifest: Manifest,
    private engine: Engine,
    private readonly sink: ResultSink,
    private readonly log: Logger,
  ) {
    this.classifyMode = new ClassifyMode(sink);
    this.facesMode = new FacesMode(sink, this.motion, opts.faces ?? {}, opts.people, opts.frameLabelMinFace);
    const self = this;
    this.ctx = {
      get manifest() {
        return self.manifest;
      },
      sourceSize: (camera) => this.sources.get(camera)?.sourceSize ?? null,
      counted: (camera) => this.results.set(camera, (this.results.get(camera) ?? 0) + 1),
    };
  }

  start(): void {
    this.stopped = false;
    for (const cam of this.opts.cameras) {
      const mode = this.modeOf(cam);
      this.modes.set(cam.id, mode);
      this.motion.add(cam);
      const src = createSource(cam, mode.frameSize(cam, this.manifest), this.opts);
      const log = this.log.child({ camera: cam.id });
      src.on('state', (state: string, reason?: string) => (state === 'backoff' ? log.warn('camera stream lost', { reason }) : log.info(`camera ${state}`)));
      src.on('state', (state: string) => state !== 'running' && this.motion.reset(cam.id));
      // HOOK (issue 14): the people of a camera that lost its stream leave (their tracks cannot continue)
      if (mode === this.facesMode && this.opts.people) {
        this.opts.people.add(cam.id);
        src.on('state', (state: string) => state === 'backoff' && this.facesMode.streamLost(cam.id, this.ctx));
      }
      src.on('frame', (f: Frame) => this.onFrame(f));
      this.sources.set(cam.id, src);
      src.start();
    }
    this.engine.on('ready', this.onEngineReady);
  }

  private modeOf(cam: CameraConfig): Mode {
    return cam.mode === 'faces' ? this.facesMode : this.classifyMode;
  }

  /**
   * Why `manifest` cannot take over from the model serving now without restarting a camera, or null.
   * A classify camera's frames are the model's input size; a faces camera's are the camera's own, so
   * a classifier with another input size swaps in under faces cameras (the worker crops to its size).
   */
  swapProblem(manifest: Manifest): string | null {
    for (const cam of this.opts.cameras) {
      const mode = this.modeOf(cam);
      const now = mode.frameSize(cam, this.manifest);
      const next = mode.frameSize(cam, manifest);
      if (now.width !== next.width || now.height !== next.height || now.format !== next.format)
        return `the new model takes ${next.width}x${next.height} frames but camera ${cam.id} (${mode.name} mode) delivers ${now.width}x${now.height}`;
    }
    return null;
  }

  /**
   * Hot swap: frames taken from now on go to `engine` (already loaded) and are read with `manifest`.
   * Resolves once the frames in flight on the old engine, if any, have been published or counted, so
   * the caller may then stop the old engine. No camera's frame size may change (`swapProblem`).
   */
  async useEngine(engine: Engine, manifest: Manifest): Promise<void> {
    const problem = this.swapProblem(manifest);
    if (problem) throw new Error(problem);
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
    this.batchTimer = null;
    this.engine.off('ready', this.onEngineReady);
    await Promise.all([...this.sources.values()].map((s) => s.stop()));
    // frames still waiting in their slots go back to their pools
    for (const f of this.slots.takeMany(Infinity, () => true)) f.release();
    // everyone still in view leaves (a clean stop ends each visit with its leave event)
    for (const id of this.sources.keys()) this.facesMode.streamLost(id, this.ctx);
  }

  stats(): Record<string, CameraStats> {
    const out: Record<string, CameraStats> = {};
    for (const [id, s] of this.sources) {
      const st = s.status();
      out[id] = {
        frames: st.frames,
        results: this.results.get(id) ?? 0,
        // displaced in its slot, failed in the engine, or not placed by the reader (every slot held)
        dropped: (this.slots.dropped.get(id) ?? 0) + (this.failed.get(id) ?? 0) + st.unplaced,
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
        this.facesMode.predicted(f, this.engine, this.ctx);
      } catch (e) {
        this.log.error('result handling failed', { err: (e as Error).message });
      }
      return f.release();
    }
    const reuse = this.motion.offer(f);
    if (reuse) {
      // no motion since the last detection: its result again, the frame never reaches the engine
      try {
        this.sink.faces(reuse.result, f, reuse.workingFaces);
      } catch (e) {
        this.log.error('result handling failed', { err: (e as Error).message });
      }
      return f.release();
    }
    // A frame displaced from its camera's slot was never sent: its buffer goes back to the pool, and
    // with tracking the camera's detection cadence may rise (D96)
    const displaced = this.slots.offer(f);
    if (displaced) {
      this.opts.people?.dropped(displaced);
      displaced.release();
    }
    this.pump();
  }

  /**
   * The frames for the next engine request, or none yet. With batching on, frames of batching modes
   * go together, up to maxFrames of different cameras; a partial batch waits until the oldest of its
   * frames is waitMs old (a timer calls pump again), like DeepStream's muxer batched-push-timeout.
   * With waitMs 0 (the default) no frame waits for a batch: the frames already waiting are shared
   * among the free workers (batchTake), so a batch forms only when frames outnumber free workers.
   */
  private nextFrames(): Frame[] {
    const b = this.opts.batch;
    if (!b || b.maxFrames <= 1) return this.slots.takeMany(1, this.isFree);
    const batchable = this.slots.waiting(this.isFreeBatching);
    if (batchable.length && batchable.length < b.maxFrames && b.waitMs > 0 && this.slots.waiting(this.isFree).length === batchable.length) {
      const due = Math.min(...batchable.map((f) => f.mono)) + b.waitMs - monoMs();
      if (due > 0) {
        this.batchTimer ??= setTimeout(() => {
          this.batchTimer = null;
          this.pump();
        }, due);
        return [];
      }
    }
    if (batchable.length) {
      // waitMs 0 batches only frames that are already waiting, spread over the free workers first
      const n = b.waitMs > 0 ? b.maxFrames : batchTake(batchable.length, this.engine.size - this.inFlight, b.maxFrames);
      return this.slots.takeMany(n, this.isFreeBatching);
    }
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
    const f = frames[0];
    const done: Promise<void> = this.modes
      .get(f.camera)!
      .run(frames, this.engine, this.ctx)
      .then(
        // Answered, so the worker has read the whole frame: its slot may be filled again.
        () => frames.forEach((x) => x.release()),
        (e) => {
          // The frames could not be classified (engine crash, timeout): counted, never retried. Their
          // slots go back too: a worker that timed out may read one later, but its answer is dropped.
          for (const x of frames) this.failed.set(x.camera, (this.failed.get(x.camera) ?? 0) + 1);
          frames.forEach((x) => x.release());
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
}
