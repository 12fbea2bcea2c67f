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
 * Cross-checks once the rest is valid: one worker owns the device, and in faces mode the detector must
 * run somewhere: in the Edge TPU worker (an SSD detector with post-processing as an edgetpu or tflite
 * file: Coral's, deploy/coral/install.sh) or on the CPU in an onnxruntime worker beside it (a detector
 * with an ONNX file, e.g. UltraFace; D112). A classifier without an edgetpu or tflite file runs on the
 * CPU beside it the same way.
 */
export function checkBackend(backend: Backend, cameras: { id: string; mode: string }[], _modelPath: string, workers = 0, detectorPath = ''): BackendProblem[] {
  if (backend !== 'edgetpu') return [];
  const out: BackendProblem[] = [];
  if (workers > 1) out.push({ path: 'engine.workers', message: `the Edge TPU is one device, opened by one worker process: set 1 or 0 (auto), got ${workers}` });
  if (cameras.some((c) => c.mode === 'faces') && detectorPath) {
    try {
      const d = parseManifest(JSON.parse(readFileSync(detectorPath, 'utf8')), detectorPath);
      const tflite = !!(modelFileFor(d, 'edgetpu') || modelFileFor(d, 'tflite'));
      const ssd = d.detect?.boxFormat === 'ssd-postprocess';
      if (ssd ? !tflite : !modelFileFor(d, 'onnxruntime'))
        out.push({ path: 'faces.detector', message: `with engine.backend "edgetpu", faces mode needs an SSD face detector with post-processing as an edgetpu or tflite file (deploy/coral/install.sh fetches Coral's), or a detector with an ONNX file for the CPU beside it (UltraFace); ${detectorPath} is neither` });
    } catch {
      /* the manifest itself was already checked and reported by faces.detector */
    }
  }
  return out;
}
