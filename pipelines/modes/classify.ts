// Classify mode: the whole frame (at the model's input size, letterboxed by the decoder) through the
// classifier; one `infer` request per frame.
import { classify } from '../../models/classify.js';
import { decide } from '../../models/decision.js';
import type { Manifest } from '../../models/manifest.js';
import type { Engine } from '../engines/engine.js';
import type { ResultSink } from '../results.js';
import type { Frame } from '../sources/process-source.js';
import type { Mode, ModeContext } from './mode.js';
import { latencyMs } from '../clock.js';

export class ClassifyMode implements Mode {
  readonly name = 'classify';
  readonly batches = false;

  constructor(private readonly sink: ResultSink) {}

  /** Model-sized RGB24, letterboxed by the decoder: 49 KB at 128x128, the Edge TPU worker's input as it is (D31). */
  frameSize(_cam: unknown, manifest: Manifest): { width: number; height: number; format: 'rgb24' } {
    return { width: manifest.input.width, height: manifest.input.height, format: 'rgb24' };
  }

  async run(frames: Frame[], engine: Engine, ctx: ModeContext): Promise<void> {
    const m = ctx.manifest;
    const f = frames[0];
    const out = await engine.infer(f.slot ?? f.data, f.width, f.height);
    const row = out.outputs.get(m.output.name);
    if (!row) throw new Error(`engine result has no output "${m.output.name}"`);
    const c = decide(classify(row.data, m.labels, m.output.kind), m.decision); // the manifest's operating point (D53)
    const model = engine.loaded?.model ?? { name: m.name, version: m.version };
    ctx.counted(f.camera);
    this.sink.classified(
      {
        camera: f.camera,
        frame: f.seq,
        ts: new Date(f.ts).toISOString(),
        label: c.label,
        score: c.score,
        scores: c.scores,
        model: { name: model.name, version: model.version },
        latencyMs: latencyMs(f),
        inferMs: Math.round(out.inferMs * 100) / 100,
      },
      f,
    );
  }
}
