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
 * Cross-checks once the rest is valid: the Edge TPU worker classifies only (no faces mode), one
 * worker owns the device, and the model bundle must carry a file for it.
 */
export function checkBackend(backend: Backend, cameras: { id: string; mode: string }[], modelPath: string, workers = 0): BackendProblem[] {
  if (backend !== 'edgetpu') return [];
  const out: BackendProblem[] = [];
  if (workers > 1) out.push({ path: 'engine.workers', message: `the Edge TPU is one device, opened by one worker process: set 1 or 0 (auto), got ${workers}` });
  cameras.forEach((c, i) => {
    if (c.mode === 'faces') out.push({ path: `cameras[${i}].mode`, message: `faces mode needs the onnxruntime backend; with engine.backend "edgetpu" set "mode": "classify"` });
  });
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
