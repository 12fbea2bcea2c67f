// engine.backend: which engine worker runs the models. "onnxruntime" (CPU / CUDA / TensorRT) or
// "edgetpu" (the Python worker with libedgetpu on a Coral, TFLite on its CPU as fallback).
import { readFileSync } from 'node:fs';
import { modelFileFor, parseManifest } from '../../models/manifest.js';
import { checkProviders } from '../../pipelines/engines/onnxruntime/providers.js';

export type Backend = 'onnxruntime' | 'edgetpu';
export const BACKENDS: readonly Backend[] = ['onnxruntime', 'edgetpu'];
export const EDGETPU_PROVIDERS = ['edgetpu', 'cpu'] as const;

export interface BackendProblem {
  path: string;
  message: string;
}

/** The backend named in a config file (before validation); the schema's provider check depends on it. */
export function backendOf(fileContent: Record<string, unknown>): Backend {
  const engine = fileContent.engine;
  const b = engine && typeof engine === 'object' ? (engine as Record<string, unknown>).backend : undefined;
  return b === 'edgetpu' ? 'edgetpu' : 'onnxruntime';
}

/** Provider-list problems (paths inside the list) for a backend. */
export function checkProvidersFor(backend: Backend, list: unknown): BackendProblem[] {
  if (backend === 'onnxruntime') return checkProviders(list);
  if (!Array.isArray(list) || list.length === 0) return [{ path: '', message: `must be a non-empty list of ${EDGETPU_PROVIDERS.join(', ')} for the edgetpu backend` }];
  const out: BackendProblem[] = [];
  list.forEach((p, i) => {
    if (typeof p !== 'string' || !(EDGETPU_PROVIDERS as readonly string[]).includes(p))
      out.push({ path: `[${i}]`, message: `the edgetpu backend runs ${EDGETPU_PROVIDERS.join(' or ')} (names only), got ${JSON.stringify(p)}` });
  });
  return out;
}

/**
 * Cross-checks once the rest is valid: one worker owns the device, the model bundle must carry a file
 * for it, and faces mode needs a detector the Edge TPU worker reads (SSD post-processed outputs, with
 * an edgetpu or tflite file: Coral's face detector, deploy/coral/install.sh).
 */
export function checkBackend(backend: Backend, cameras: { id: string; mode: string }[], modelPath: string, workers = 0, detectorPath = ''): BackendProblem[] {
  if (backend !== 'edgetpu') return [];
  const out: BackendProblem[] = [];
  if (workers > 1) out.push({ path: 'engine.workers', message: `the Edge TPU is one device, opened by one worker process: set 1 or 0 (auto), got ${workers}` });
  if (cameras.some((c) => c.mode === 'faces') && detectorPath) {
    try {
      const d = parseManifest(JSON.parse(readFileSync(detectorPath, 'utf8')), detectorPath);
      if (d.detect?.boxFormat !== 'ssd-postprocess' || (!modelFileFor(d, 'edgetpu') && !modelFileFor(d, 'tflite')))
        out.push({ path: 'faces.detector', message: `with engine.backend "edgetpu", faces mode needs an SSD face detector with post-processing as an edgetpu or tflite file (deploy/coral/install.sh fetches Coral's); ${detectorPath} is not one. Running UltraFace on the CPU beside the Edge TPU classifier is not built yet: use engine.backend "onnxruntime" or "mode": "classify"` });
    } catch {
      /* the manifest itself was already checked and reported by faces.detector */
    }
  }
  if (modelPath) {
    try {
      const m = parseManifest(JSON.parse(readFileSync(modelPath, 'utf8')), modelPath);
      if (!modelFileFor(m, 'edgetpu') && !modelFileFor(m, 'tflite'))
        out.push({ path: 'model.path', message: `${modelPath} has no edgetpu or tflite file for engine.backend "edgetpu" (its files are for ${[m.engine ?? 'onnxruntime', ...(m.files ?? []).map((f) => f.engine)].join(', ')})` });
    } catch {
      /* the manifest itself was already checked and reported by model.path */
    }
  }
  return out;
}
