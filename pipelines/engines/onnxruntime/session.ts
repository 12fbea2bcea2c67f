// Create an onnxruntime session, walking the execution-provider list in order.
// onnxruntime-node throws for a provider it cannot load instead of falling back, and a provider
// can load yet fail at run time, so each candidate must pass a real warm-up inference.
import type * as OrtTypes from 'onnxruntime-node';
import { ort, ortFolder } from './ort.js';
import { checkGraph, inputShape, type Manifest } from '../../../models/manifest.js';
import type { ProviderRequest, TensorInfo } from '../protocol.js';
import { PROVIDER_NAMES, profileShapes, toOrtOptions } from './providers.js';
import { buildReason, cacheWarnings } from './engine-cache.js';

export interface OpenedSession {
  session: OrtTypes.InferenceSession;
  provider: string;
  fallbacks: { name: string; reason: string }[];
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  warmupMs: number;
  /** Batch sizes also run at load, beyond the manifest's own shape (warmBatches, D158). */
  warmedBatches: number[];
  /** Things that work but not as asked (e.g. TensorRT options the binding ignored). */
  warnings: string[];
}

/**
 * Batch sizes a CPU session with a dynamic batch axis (the face classifier: one run for all the faces
 * of a frame) also runs at load, twice each (D158). onnxruntime grows its arena and plans its memory
 * on the first two runs of each new shape: 9–26 ms for 4–8 faces on the bench's VM against 2–4 ms
 * once warm, which would otherwise land on the first frames with that many faces after every start
 * and every swap. Larger batches (crowds) still pay it once.
 */
export const WARM_BATCHES: readonly number[] = [2, 3, 4, 5, 6, 7, 8];

/** Whether an input's first dimension (as onnxruntime reports it) is a dynamic batch axis: a name or a negative size. Pure. */
export function isDynamicBatch(dim: number | string | undefined): boolean {
  return dim !== undefined && (typeof dim !== 'number' || dim < 0);
}

/** The batch sizes to warm a session for: WARM_BATCHES on the CPU provider when the batch axis is dynamic. Pure. */
export function warmBatches(provider: string, inputs: readonly TensorInfo[]): number[] {
  return provider === 'cpu' && isDynamicBatch(inputs[0]?.shape[0]) ? [...WARM_BATCHES] : [];
}

/** Zeros in the manifest's input shape, with `batch` inputs when given (the warm-up runs). */
function zeros(manifest: Manifest, batch?: number): OrtTypes.Tensor {
  const shape = inputShape(manifest);
  if (batch !== undefined) shape[0] = batch;
  return new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
}

/** Run `batches` (twice each) with zeros; a failure stops there and becomes a warning, not a failed load. */
async function warmFor(session: OrtTypes.InferenceSession, manifest: Manifest, batches: number[]): Promise<{ done: number[]; warnings: string[] }> {
  const done: number[] = [];
  for (const b of batches) {
    try {
      const input = zeros(manifest, b);
      for (let i = 0; i < 2; i++) await session.run({ [manifest.input.name]: input }, [manifest.output.name]);
      done.push(b);
    } catch (e) {
      return { done, warnings: [`warm-up at batch ${b} failed (${firstLine(e)}): the first runs of ${b} or more at once will be slower`] };
    }
  }
  return { done, warnings: [] };
}

export class ModelMismatchError extends Error {
  constructor(readonly problems: string[]) {
    super(`model does not match its manifest: ${problems.join('; ')}`);
    this.name = 'ModelMismatchError';
  }
}

const KNOWN = new Set<string>(PROVIDER_NAMES);

function toOrtProvider(p: string | ProviderRequest): OrtTypes.InferenceSession.ExecutionProviderConfig {
  if (typeof p === 'string') return p;
  return toOrtOptions(p) as OrtTypes.InferenceSession.ExecutionProviderConfig;
}

function describe(meta: readonly OrtTypes.InferenceSession.ValueMetadata[]): TensorInfo[] {
  return meta.map((m) => (m.isTensor ? { name: m.name, shape: [...m.shape], type: m.type } : { name: m.name, shape: [] }));
}

/** Open `bytes` with the first provider that loads, matches the manifest and survives a warm-up run. */
/** Session config entries: intra- and inter-op threads block instead of spinning between runs. */
export const NO_SPIN = { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } as const;

/** Called before a provider starts building an engine (minutes): the worker tells the supervisor. */
export type OnBuilding = (provider: string, reason: string) => void;

/**
 * A tensorrt request with a batch `profile` (min/opt/max) gets the TensorRT optimisation profile
 * shapes for the model's input, when that input's batch axis is dynamic (read from the ONNX graph).
 */
async function withProfile(p: string | ProviderRequest, bytes: Uint8Array, manifest: Manifest): Promise<string | ProviderRequest> {
  if (typeof p === 'string' || p.name !== 'tensorrt' || !p.profile) return p;
  // onnx-proto is loaded only here: most workers never need it, and it costs start-up time.
  const { onnxInputDims } = await import('../../../models/onnx-inputs.js');
  const dims = onnxInputDims(bytes, manifest.input.name);
  if (!dims || typeof dims[0] === 'number') return p; // static batch: one shape, no profile
  return { ...p, trtProfile: profileShapes(manifest.input.name, inputShape(manifest), p.profile as { min: number; opt: number; max: number }) };
}

export async function openSession(bytes: Uint8Array, manifest: Manifest, providers: (string | ProviderRequest)[], threads: number, onBuilding?: OnBuilding): Promise<OpenedSession> {
  const fallbacks: { name: string; reason: string }[] = [];
  const list = providers.length ? providers : ['cpu'];
  for (let i = 0; i < list.length; i++) {
    const p = list[i];
    const name = typeof p === 'string' ? p : p.name;
    if (!KNOWN.has(name)) {
      fallbacks.push({ name, reason: `unknown execution provider "${name}" (known: ${[...KNOWN].join(', ')})` });
      continue;
    }
    let session: OrtTypes.InferenceSession;
    const why = buildReason(p);
    if (why) onBuilding?.(name, why);
    try {
      session = await ort.InferenceSession.create(bytes, {
        executionProviders: [toOrtProvider(await withProfile(p, bytes, manifest))],
        ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
        // Frames arrive paced (10 fps), not back to back: ORT's default spin-wait after each run
        // burned ≈ 25 ms of CPU per 4 ms detector run here (docs/BENCHMARKS.md). Park the threads.
        extra: NO_SPIN,
      });
    } catch (e) {
      fallbacks.push({ name, reason: `failed to load: ${firstLine(e)}` });
      continue;
    }
    const inputs = describe(session.inputMetadata);
    const outputs = describe(session.outputMetadata);
    const problems = checkGraph(manifest, { inputs, outputs });
    if (problems.length) {
      await session.release().catch(() => undefined);
      throw new ModelMismatchError(problems);
    }
    try {
      const t0 = performance.now();
      await session.run({ [manifest.input.name]: zeros(manifest) }, [manifest.output.name]);
      const warmupMs = performance.now() - t0;
      const warmed = await warmFor(session, manifest, warmBatches(name, inputs));
      return { session, provider: name, fallbacks, inputs, outputs, warmupMs, warmedBatches: warmed.done, warnings: [...cacheWarnings(p), ...warmed.warnings] };
    } catch (e) {
      fallbacks.push({ name, reason: `loaded but failed its warm-up inference: ${firstLine(e)}` });
      await session.release().catch(() => undefined);
    }
  }
  throw new Error(`no execution provider could run the model: ${fallbacks.map((f) => `${f.name}: ${f.reason}`).join('; ')}`);
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0].slice(0, 300);
}

export const runtimeVersion = (): string => `${ort.env.versions.node ?? ort.env.versions.common}${ortFolder ? ` (from ${ortFolder})` : ''}`;
