// Faces mode: the engine detects and classifies every face of a frame (one `faces` request, or one
// `facesBatch` for frames of several cameras); the answer becomes the frame's label and counts with
// boxes in the camera's pixels. Motion gating's reference is updated with each detected frame.
import type { CameraConfig } from '../camera.js';
import type { Engine } from '../engines/engine.js';
import type { FacesOptions, FacesResultMsg } from '../engines/protocol.js';
import { frameLabel } from '../face-events.js';
import type { MotionReuse } from '../motion-reuse.js';
import { toSourceBox } from '../pre/tensor.js';
import type { ResultSink } from '../results.js';
import type { Frame } from '../sources/process-source.js';
import type { Mode, ModeContext } from './mode.js';

/** The largest frame of a faces camera when the config names none (a larger camera is scaled down to fit). */
export const FACES_FRAME_DEFAULT = { width: 1280, height: 720 } as const;

export class FacesMode implements Mode {
  readonly name = 'faces';
  readonly batches = true;

  constructor(
    private readonly sink: ResultSink,
    private readonly motion: MotionReuse,
    private readonly options: FacesOptions = {},
  ) {}

  /** I420 in the decoder's own format at the camera's size, at most frameWidth x frameHeight (D30). */
  frameSize(cam: CameraConfig): { width: number; height: number; format: 'i420' } {
    return { width: cam.frameWidth ?? FACES_FRAME_DEFAULT.width, height: cam.frameHeight ?? FACES_FRAME_DEFAULT.height, format: 'i420' };
  }

  async run(frames: Frame[], engine: Engine, ctx: ModeContext): Promise<void> {
    if (frames.length === 1) {
      const f = frames[0];
      return this.result(f, await engine.faces(f.data, f.width, f.height, this.options, f.format), engine, ctx);
    }
    const r = await engine.facesBatch(frames.map((f) => ({ data: f.data, width: f.width, height: f.height, format: f.format })), this.options);
    if (r.results.length !== frames.length) throw new Error(`engine answered ${r.results.length} results for ${frames.length} frames`);
    r.results.forEach((x, i) => this.result(frames[i], x, engine, ctx, frames.length));
  }

  /** A frame's faces answer: its label and counts, boxes in the camera's pixels, out through the sink. */
  private result(f: Frame, r: Omit<FacesResultMsg, 'type' | 'id'>, engine: Engine, ctx: ModeContext, batch = 1): void {
    const { label, counts } = frameLabel(r.faces);
    const deciding = label === 'no_mask' ? r.faces.filter((x) => x.label === 'no_mask').sort((a, b) => b.score - a.score)[0] : label === 'mask' ? [...r.faces].sort((a, b) => a.score - b.score)[0] : undefined;
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
      faces: r.faces.map((x) => ({ box: src ? toSourceBox(x.box, src.width, src.height, f.width, f.height) : x.box, label: x.label, score: x.score, detScore: x.detScore })),
      counts,
      // The size the boxes refer to: the camera's own resolution when the source reported it.
      frameSize: (src ? [src.width, src.height] : [f.width, f.height]) as [number, number],
      model: { name: model.name, version: model.version },
      detector: { name: det.name, version: det.version },
      latencyMs: Date.now() - f.ts,
      inferMs: round(r.inferMs),
      detectMs: round(r.detectMs),
      classifyMs: round(r.cropMs + r.classifyMs),
      ...(batch > 1 ? { batch } : {}),
    };
    // the motion gate's new reference and last result, then out
    this.motion.detected(f, result, r.faces);
    this.sink.faces(result, f, r.faces);
  }
}
