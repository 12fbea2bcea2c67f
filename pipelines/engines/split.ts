// Faces with the face detector and the classifier in two different engine workers (docs/DECISIONS.md
// D112): UltraFace on the CPU in the onnxruntime worker beside a classifier on the Edge TPU, or Coral's
// SSD face detector on the Edge TPU beside a classifier that has only an ONNX file. One faces request
// becomes two on the same frame: the detector's worker detects (`detectOnly`: boxes, crops and, with
// tracking, which faces need a reading), then the classifier's worker classifies those crops (`crops`:
// no detector). Only routing and merging happen here: no pixels, no native code, in the supervisor.
import { EventEmitter } from 'node:events';
import type { InferOutput } from './client.js';
import type { Engine, EngineBuild, EngineFrame, EngineState } from './engine.js';
import type { FramePixels } from './slots.js';
import type { FaceResult, FacesBatchResultMsg, FacesOptions, FacesResultMsg, FrameFormat, LoadedMsg } from './protocol.js';

type Timings = Omit<FacesResultMsg, 'type' | 'id'>;
type Crop = [number, number, number, number];
const STATE_ORDER: EngineState[] = ['stopped', 'restarting', 'building', 'starting', 'ready'];

/** Events: 'ready' (the classifier's LoadedMsg) once both are ready, 'down' and 'building' from either. */
export class SplitFacesEngine extends EventEmitter implements Engine {
  /**
   * @param detector an engine whose worker has only the face detector loaded (EngineSupervisor `detectorOnly`)
   * @param classifier an engine whose worker has the classifier loaded
   */
  constructor(
    readonly detector: Engine,
    readonly classifier: Engine,
  ) {
    super();
    for (const e of [detector, classifier]) {
      e.on('ready', () => {
        if (this.ready) this.emit('ready', this.classifier.loaded);
      });
      e.on('down', (reason: string) => this.emit('down', reason));
      e.on('building', (b: EngineBuild) => this.emit('building', b));
    }
  }

  get ready(): boolean {
    return this.detector.ready && this.classifier.ready;
  }

  get state(): EngineState {
    return [this.detector.state, this.classifier.state].sort((a, b) => STATE_ORDER.indexOf(a) - STATE_ORDER.indexOf(b))[0];
  }

  get restarts(): number {
    return this.detector.restarts + this.classifier.restarts;
  }

  get errors(): number {
    return this.detector.errors + this.classifier.errors;
  }

  get lastError(): string | null {
    return this.classifier.lastError ?? this.detector.lastError;
  }

  get pid(): number | undefined {
    return this.classifier.pid;
  }

  get loaded(): LoadedMsg | null {
    return this.classifier.loaded;
  }

  /** The detector's worker loads only the detector: its `loaded` is the detector's. */
  get detectorLoaded(): LoadedMsg | null {
    return this.detector.detectorLoaded ?? this.detector.loaded;
  }

  get building(): EngineBuild | null {
    return this.classifier.building ?? this.detector.building;
  }

  get size(): number {
    return Math.min(this.detector.size, this.classifier.size);
  }

  /** Start both; if either first load fails, stop the other and reject (a bad model is a config error). */
  async start(): Promise<LoadedMsg> {
    const [d, c] = await Promise.allSettled([this.detector.start(), this.classifier.start()]);
    if (d.status === 'rejected' || c.status === 'rejected') {
      await Promise.all([this.detector.stop(), this.classifier.stop()]);
      throw d.status === 'rejected' ? d.reason : (c as PromiseRejectedResult).reason;
    }
    return c.value;
  }

  async stop(): Promise<void> {
    await Promise.all([this.detector.stop(), this.classifier.stop()]);
  }

  infer(rgb: FramePixels, width: number, height: number): Promise<InferOutput> {
    return this.classifier.infer(rgb, width, height);
  }

  async faces(data: FramePixels, width: number, height: number, options: FacesOptions, format?: FrameFormat): Promise<FacesResultMsg> {
    const t0 = performance.now();
    const found = await this.detector.faces(data, width, height, { ...options, detectOnly: true }, format);
    const crops = toRead(found.faces);
    const labelled = crops.length ? await this.classifier.faces(data, width, height, { margin: options.margin, crops }, format) : null;
    return { type: 'facesResult', id: found.id, ...merge(found, labelled, t0) };
  }

  async facesBatch(frames: EngineFrame[], options: FacesOptions): Promise<FacesBatchResultMsg> {
    const t0 = performance.now();
    const found = await this.detector.facesBatch(frames, { ...options, detectOnly: true });
    const crops = found.results.map((r) => toRead(r.faces));
    const todo = frames.flatMap((f, i) => (crops[i].length ? [{ data: f.data, width: f.width, height: f.height, format: f.format, crops: crops[i] }] : []));
    const labelled = todo.length ? (await this.classifier.facesBatch(todo, { margin: options.margin })).results : [];
    let k = 0;
    return { type: 'facesBatchResult', id: found.id, results: found.results.map((r, i) => merge(r, crops[i].length ? labelled[k++] : null, t0)) };
  }
}

/** The crops the detector's worker selected for a reading (all of them without tracking). */
function toRead(faces: FaceResult[]): Crop[] {
  return faces.filter((f) => f.classified !== false).map((f) => f.crop);
}

/** The detector's faces with the classifier's labels on the faces it read; times of both. */
function merge(found: Timings, labelled: Timings | null, t0: number): Timings {
  let k = 0;
  const faces = found.faces.map((f): FaceResult => {
    if (f.classified === false || !labelled) return f;
    const c = labelled.faces[k++];
    return { ...f, label: c.label, score: c.score, scores: c.scores };
  });
  if (labelled && k !== labelled.faces.length) throw new Error(`the classifier answered ${labelled.faces.length} faces for ${k} crops`);
  return {
    faces,
    detectMs: found.detectMs,
    cropMs: labelled?.cropMs ?? 0,
    classifyMs: labelled?.classifyMs ?? 0,
    classifierRuns: labelled?.classifierRuns ?? 0,
    inferMs: performance.now() - t0,
  };
}
