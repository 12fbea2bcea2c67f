// The frame path inside the supervisor: camera sources → newest-wins slots → engine → results.
import type { Manifest } from '../models/manifest.js';
import { FrameSlots } from '../pipelines/frame-slots.js';
import { classify } from '../models/classify.js';
import { FfmpegSource, type Frame } from '../pipelines/sources/ffmpeg-source.js';
import { GstSource } from '../pipelines/sources/gst-source.js';
import type { ProcessSource } from '../pipelines/sources/process-source.js';
import type { CameraConfig } from './config.js';
import type { EngineSupervisor } from './engine-supervisor.js';
import type { Logger } from './log.js';

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

export interface PipelineOptions {
  cameras: CameraConfig[];
  ffmpegPath: string;
  rtspTimeoutSec: number;
  stallSec: number;
  restartMinMs: number;
  restartMaxMs: number;
}

export interface CameraStats {
  frames: number;
  results: number;
  dropped: number;
  restarts: number;
  state: string;
  lastError: string | null;
}

export class Pipeline {
  readonly sources = new Map<string, ProcessSource>();
  private slots = new FrameSlots<Frame>();
  private inFlight = false;
  private results = new Map<string, number>();
  private failed = new Map<string, number>();
  private stopped = false;
  /** Frames handed to the engine (taken = published + failed once nothing is in flight). */
  private taken = 0;
  private inFlightDone: Promise<void> = Promise.resolve();
  private readonly onEngineReady = () => this.pump();

  constructor(
    private readonly opts: PipelineOptions,
    private manifest: Manifest,
    private engine: EngineSupervisor,
    private readonly publish: (r: FrameResult) => void,
    private readonly log: Logger,
  ) {}

  start(): void {
    const { width, height } = this.manifest.input;
    for (const cam of this.opts.cameras) {
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
      };
      const src =
        cam.decoder === 'gstreamer-nv' || cam.decoder === 'gstreamer-sw'
          ? new GstSource({ ...common, decoder: cam.decoder })
          : new FfmpegSource({ ...common, loop: cam.loop, ffmpegPath: this.opts.ffmpegPath });
      const log = this.log.child({ camera: cam.id });
      src.on('state', (state: string, reason?: string) => (state === 'backoff' ? log.warn('camera stream lost', { reason }) : log.info(`camera ${state}`)));
      src.on('frame', (f: Frame) => this.onFrame(f));
      this.sources.set(cam.id, src);
      src.start();
    }
    this.engine.on('ready', this.onEngineReady);
  }

  /**
   * Hot swap: frames taken from now on go to `engine` (already loaded) and are read with `manifest`.
   * Resolves once the frame in flight on the old engine, if any, has been published or counted, so
   * the caller may then stop the old engine. The input size must not change (the sources keep theirs).
   */
  async useEngine(engine: EngineSupervisor, manifest: Manifest): Promise<void> {
    const { width, height } = this.manifest.input;
    if (manifest.input.width !== width || manifest.input.height !== height)
      throw new Error(`the new model's input is ${manifest.input.width}x${manifest.input.height}, the cameras deliver ${width}x${height}`);
    this.engine.off('ready', this.onEngineReady);
    this.engine = engine;
    this.manifest = manifest;
    engine.on('ready', this.onEngineReady);
    await this.inFlightDone;
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
        restarts: st.restarts,
        state: st.state,
        lastError: st.lastError,
      };
    }
    return out;
  }

  private onFrame(f: Frame): void {
    if (this.stopped) return;
    this.slots.offer(f);
    this.pump();
  }

  private pump(): void {
    if (this.inFlight || this.stopped || !this.engine.ready) return;
    const f = this.slots.take();
    if (!f) return;
    this.inFlight = true;
    this.taken++;
    const m = this.manifest;
    const engine = this.engine;
    let settle!: () => void;
    this.inFlightDone = new Promise<void>((r) => (settle = r));
    engine
      .infer(f.data, f.width, f.height)
      .then(
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
          });
        },
        (e) => {
          // The frame could not be classified (engine crash, timeout): counted, never retried.
          this.failed.set(f.camera, (this.failed.get(f.camera) ?? 0) + 1);
          this.log.debug('frame not classified', { camera: f.camera, frame: f.seq, err: (e as Error).message });
        },
      )
      .catch((e) => this.log.error('result handling failed', { err: (e as Error).message }))
      .finally(() => {
        this.inFlight = false;
        settle();
        setImmediate(() => this.pump());
      });
  }
}
