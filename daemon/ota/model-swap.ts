// Zero-downtime model swap: the new model loads in a standby engine worker (the worker checks the
// manifest, the model's sha256, the graph against the manifest and runs a warm-up inference), its
// test vectors are checked, and only then does the pipeline move to it; the old worker finishes the
// frame it holds and is stopped. Any failure before the move leaves the old model serving.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { classify } from '../../models/classify.js';
import type { Manifest } from '../../models/manifest.js';
import { readManifest } from '../../models/manifest-file.js';
import type { LoadedMsg } from '../../pipelines/engines/protocol.js';
import type { Engine } from '../../pipelines/engines/engine.js';
import type { Logger } from '../log.js';
import type { Pipeline } from '../../pipelines/pipeline.js';
import { CodedError } from '../../models/coded-error.js';
import { elapsedMs, monoMs } from '../../pipelines/clock.js';

export class SwapError extends CodedError<'LOAD_FAILED' | 'TEST_VECTOR_FAILED' | 'INPUT_SIZE_CHANGED' | 'MANIFEST_INVALID'> {}

export interface SwapReport {
  loaded: LoadedMsg;
  manifest: Manifest;
  /** Frames the pipeline failed to classify while the swap ran (0 unless the old engine broke meanwhile). */
  unclassified: number;
  ms: number;
}

/** Run a manifest's test vectors on a loaded engine; throws SwapError TEST_VECTOR_FAILED on the first miss. */
export async function checkTestVectors(engine: Pick<Engine, 'infer'>, manifest: Manifest, manifestPath: string): Promise<number> {
  const { width, height } = manifest.input;
  for (const tv of manifest.tests ?? []) {
    const rgb = await readFile(join(dirname(manifestPath), tv.file));
    if (rgb.length !== width * height * 3) throw new SwapError('TEST_VECTOR_FAILED', `test vector ${tv.file} has ${rgb.length} bytes, expected ${width}x${height}x3 RGB24`);
    const out = await engine.infer(rgb, width, height);
    const row = out.outputs.get(manifest.output.name);
    if (!row) throw new SwapError('TEST_VECTOR_FAILED', `no output "${manifest.output.name}" for test vector ${tv.file}`);
    const c = classify(row.data, manifest.labels, manifest.output.kind);
    if (c.label !== tv.label) throw new SwapError('TEST_VECTOR_FAILED', `test vector ${tv.file}: expected "${tv.label}", the model says "${c.label}" (${c.score.toFixed(3)})`);
  }
  return manifest.tests?.length ?? 0;
}

export class ModelSwap {
  private busy = false;

  constructor(
    /** The engine serving now (owned by this object from here on: it stops replaced ones). */
    public current: Engine,
    private readonly makeEngine: (manifestPath: string) => Engine,
    private readonly pipeline: Pipeline,
    private readonly log: Logger,
  ) {}

  /** Load `manifestPath` in a standby worker, validate, warm up, test, then move traffic to it. */
  async swapTo(manifestPath: string): Promise<SwapReport> {
    if (this.busy) throw new SwapError('LOAD_FAILED', 'another swap is in progress');
    this.busy = true;
    const t0 = monoMs();
    try {
      let manifest: Manifest;
      try {
        manifest = await readManifest(manifestPath);
      } catch (e) {
        throw new SwapError('MANIFEST_INVALID', (e as Error).message);
      }
      const sizeProblem = this.pipeline.swapProblem(manifest);
      if (sizeProblem) throw new SwapError('INPUT_SIZE_CHANGED', `${sizeProblem}; a model with another input size needs a restart with it in model.path`);
      const standby = this.makeEngine(manifestPath);
      let loaded: LoadedMsg;
      try {
        loaded = await standby.start();
        const n = await checkTestVectors(standby, manifest, manifestPath);
        this.log.info('standby engine ready', { model: loaded.model, pid: standby.pid, warmupMs: Math.round(loaded.warmupMs), testVectors: n });
      } catch (e) {
        await standby.stop();
        if (e instanceof SwapError) throw e;
        throw new SwapError('LOAD_FAILED', (e as Error).message);
      }
      const before = this.pipeline.frameCounts().failed;
      const old = this.current;
      await this.pipeline.useEngine(standby, manifest);
      this.current = standby;
      const unclassified = this.pipeline.frameCounts().failed - before;
      await old.stop();
      const ms = elapsedMs(t0);
      this.log.info('model swapped', { model: loaded.model, ms, unclassified });
      return { loaded, manifest, unclassified, ms };
    } finally {
      this.busy = false;
    }
  }
}
