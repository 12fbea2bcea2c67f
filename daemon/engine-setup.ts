// What each engine worker is asked to load, from the config: the classifier's and the detector's own
// provider lists (each model gets its own TensorRT engine cache, keyed by its sha256 and batch
// profile), the batch profile of the classifier, and the load / build timeouts. Used by the daemon
// (app.ts) and by `mobilenet-edge --prepare` (prepare.ts), so both build and find the same caches.
import { readFileSync } from 'node:fs';
import type { Config } from './config/config.js';
import { modelFileFor, parseManifest, type Manifest } from '../models/manifest.js';
import { defaultWorkerCommand, type EngineOptions } from '../pipelines/engines/client.js';
import { toSpecs } from '../pipelines/engines/onnxruntime/providers.js';
import { pruneEngineCaches, withEngineCaches } from '../pipelines/engines/onnxruntime/engine-cache.js';
import { modelFiles } from '../models/manifest.js';
import { join } from 'node:path';
import type { BatchProfile, ProviderRequest } from '../pipelines/engines/protocol.js';
import { engineBatchFrames } from '../pipelines/engines/pool.js';

export function readManifestSync(path: string): Manifest {
  return parseManifest(JSON.parse(readFileSync(path, 'utf8')), path);
}

/**
 * The classifier's batch profile: in faces mode the crops of up to batch.maxFrames frames of up to
 * maxFaces faces each go in one run (when the graph's batch axis is dynamic); TensorRT builds for
 * 1..that, tuned for a few faces. Classify mode runs batch 1: no profile.
 */
export function classifierProfile(config: Pick<Config, 'cameras' | 'faces' | 'engine'>): BatchProfile | undefined {
  if (!config.cameras.some((c) => c.mode === 'faces')) return undefined;
  const max = config.faces.maxFaces * engineBatchFrames(config.engine);
  return { min: 1, opt: Math.min(max, 8), max };
}

/** Which engine worker runs a model. */
export type Place = 'onnxruntime' | 'edgetpu';

/**
 * Where a model runs (D112). With engine.backend "edgetpu": in the Edge TPU worker when its bundle has an
 * edgetpu or tflite file (a detector: and reads as an SSD detector with post-processing), else on the CPU
 * in an onnxruntime worker beside it (UltraFace; a classifier with only an ONNX file). Otherwise onnxruntime.
 */
export function placeOf(config: Pick<Config, 'engine'>, m: Manifest): Place {
  if (config.engine.backend !== 'edgetpu') return 'onnxruntime';
  const tflite = !!(modelFileFor(m, 'edgetpu') || modelFileFor(m, 'tflite'));
  if (m.task === 'detect') return tflite && m.detect?.boxFormat === 'ssd-postprocess' ? 'edgetpu' : 'onnxruntime';
  return tflite ? 'edgetpu' : 'onnxruntime';
}

/**
 * The provider requests for one model: onnxruntime's with keyed engine caches, or the Edge TPU names. A
 * model placed on the onnxruntime worker beside the Edge TPU one runs on the CPU provider.
 */
export function providersFor(config: Config, m: Manifest, trtVersion: string, profile?: BatchProfile, place: Place = placeOf(config, m)): (string | ProviderRequest)[] {
  if (place === 'edgetpu') return config.engine.executionProviders.map((p) => (typeof p === 'string' ? p : p.name));
  const configured = config.engine.backend === 'edgetpu' ? ['cpu' as const] : config.engine.executionProviders;
  return withEngineCaches(toSpecs(configured), modelFileFor(m, 'onnxruntime')?.sha256 ?? m.sha256, trtVersion, profile);
}

/** Worker options: which worker, and the load timeout that becomes the build timeout once it builds. */
export function workerOptions(config: Config, place: Place = config.engine.backend === 'edgetpu' ? 'edgetpu' : 'onnxruntime'): EngineOptions {
  return {
    ...(place === 'edgetpu' ? { command: defaultWorkerCommand('edgetpu') } : {}),
    // the worker's start (importing onnxruntime; CUDA initialising on a Jetson at boot): at least a minute
    helloTimeoutMs: Math.max(60_000, config.watchdog.loadTimeoutSec * 1000),
    loadTimeoutMs: config.watchdog.loadTimeoutSec * 1000,
    buildTimeoutMs: config.watchdog.buildTimeoutSec * 1000,
  };
}

/** The configured TensorRT engine cache folders (engineCacheDir of each tensorrt entry). */
export function engineCacheDirs(config: Pick<Config, 'engine'>): string[] {
  return config.engine.executionProviders.flatMap((p) => (typeof p !== 'string' && p.name === 'tensorrt' && typeof p.engineCacheDir === 'string' ? [p.engineCacheDir] : []));
}

/**
 * The model store's onRemoved: the engine caches of removed models go too, unless a version still
 * installed has the same model file (same sha256). Returns the folders removed.
 */
export function pruneRemovedModels(cacheDirs: string[], removed: Buffer[], keptDirs: string[]): string[] {
  const shas = (raw: Buffer | string) => {
    try {
      return modelFiles(parseManifest(JSON.parse(raw.toString()))).map((f) => f.sha256);
    } catch {
      return [];
    }
  };
  const kept = new Set(keptDirs.flatMap((d) => {
    try {
      return shas(readFileSync(join(d, 'model.json')));
    } catch {
      return [];
    }
  }));
  const gone = [...new Set(removed.flatMap(shas))].filter((s) => !kept.has(s));
  return cacheDirs.flatMap((dir) => gone.flatMap((s) => pruneEngineCaches(dir, s)));
}
