// TensorRT engine caches: one folder per (model, engine-affecting options, TensorRT version), so an
// engine is built once, reused across restarts, and removed with its model.
//
// Layout under a provider's engineCacheDir:
//   <engineCacheDir>/<model sha256>/<key>/         trt_engine_cache_path (ORT writes *.engine, *.profile here)
//   <engineCacheDir>/<model sha256>/<key>/key.json what the key was made of (for edgectl doctor and people)
//   <engineCacheDir>/timing-<TensorRT version>/    trt_timing_cache_path (shared by models: it depends on the GPU and TensorRT only)
//
// engineCacheKey() is pure; the file helpers take the folder explicitly.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProviderSpec } from './providers.js';

/** The options that change the built engine. deviceId is included: engines are built for one GPU. */
const ENGINE_OPTIONS = ['deviceId', 'fp16', 'workspaceMb', 'dlaCore'] as const;
const SHA256 = /^[0-9a-f]{64}$/;

export interface EngineCacheKeyInput {
  modelSha256: string;
  /** Our tensorrt options (engineCacheDir and timingCache do not affect the engine and are ignored). */
  options: Record<string, unknown>;
  /** TensorRT version, e.g. "8.5.2"; "unknown" when it cannot be found. */
  tensorrtVersion: string;
  /** The batch sizes the engine is built for (optimisation profile); absent = batch 1 as the graph says. */
  profile?: { min: number; opt: number; max: number };
}

/** A 16-hex-digit key: sha256 over the model hash, the engine-affecting options (sorted) and the TensorRT version. */
export function engineCacheKey(k: EngineCacheKeyInput): string {
  if (!SHA256.test(k.modelSha256)) throw new Error(`model sha256 ${JSON.stringify(k.modelSha256)} is not 64 lowercase hex digits`);
  const opts: Record<string, unknown> = {};
  for (const o of ENGINE_OPTIONS) if (k.options[o] !== undefined) opts[o] = k.options[o];
  const canonical = JSON.stringify({ v: 1, model: k.modelSha256, trt: k.tensorrtVersion, opts, ...(k.profile ? { profile: [k.profile.min, k.profile.opt, k.profile.max] } : {}) });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export function engineCachePath(engineCacheDir: string, k: EngineCacheKeyInput): string {
  return join(engineCacheDir, k.modelSha256, engineCacheKey(k));
}

export function timingCachePath(engineCacheDir: string, tensorrtVersion: string): string {
  return join(engineCacheDir, `timing-${tensorrtVersion.replace(/[^0-9A-Za-z._-]/g, '_')}`);
}

/**
 * The provider requests sent to the worker: tensorrt entries with an engineCacheDir get the keyed
 * `engineCachePath` (and `timingCachePath`) added, folders created, and key.json written.
 */
export function withEngineCaches(
  specs: ProviderSpec[],
  modelSha256: string,
  tensorrtVersion: string,
  profile?: { min: number; opt: number; max: number },
): { name: string; [k: string]: unknown }[] {
  return specs.map((s) => {
    const req: { name: string; [k: string]: unknown } = { name: s.name, ...s.options };
    if (s.name === 'tensorrt' && profile) req.profile = profile;
    const dir = s.options.engineCacheDir;
    if (s.name !== 'tensorrt' || typeof dir !== 'string') return req;
    const input = { modelSha256, options: s.options, tensorrtVersion, ...(profile ? { profile } : {}) };
    req.engineCachePath = engineCachePath(dir, input);
    mkdirSync(req.engineCachePath as string, { recursive: true });
    writeFileSync(join(req.engineCachePath as string, 'key.json'), JSON.stringify({ ...input, key: engineCacheKey(input) }, null, 2) + '\n');
    if (s.options.timingCache === true) {
      req.timingCachePath = timingCachePath(dir, tensorrtVersion);
      mkdirSync(req.timingCachePath as string, { recursive: true });
    }
    return req;
  });
}

/**
 * Why opening this provider will build an engine (minutes) rather than load one, or null: TensorRT
 * with no engine file in its keyed cache folder, or with no cache at all (then it builds at every start).
 */
export function buildReason(p: string | { name: string; [k: string]: unknown }, listDir: (d: string) => string[] = readdirSync): string | null {
  const name = typeof p === 'string' ? p : p.name;
  if (name !== 'tensorrt') return null;
  const path = typeof p === 'string' ? undefined : p.engineCachePath;
  if (typeof path !== 'string') return 'no engine cache configured (engineCacheDir): TensorRT builds its engine at every start';
  let files: string[] = [];
  try {
    files = listDir(path);
  } catch {
    /* not there yet */
  }
  return files.some((f) => f.endsWith('.engine')) ? null : `no cached engine in ${path}`;
}

/** Remove every engine cache built for a model (the model store calls this when it prunes a model). Returns what was removed. */
export function pruneEngineCaches(engineCacheDir: string, modelSha256: string): string[] {
  if (!SHA256.test(modelSha256)) throw new Error(`refusing to prune: ${JSON.stringify(modelSha256)} is not a sha256`);
  const dir = join(engineCacheDir, modelSha256);
  try {
    statSync(dir);
  } catch {
    return [];
  }
  rmSync(dir, { recursive: true, force: true });
  return [dir];
}

export interface CacheEntry {
  path: string;
  modelSha256: string;
  key: string;
  /** Files other than key.json (the engines and profiles ORT wrote). */
  files: { name: string; bytes: number }[];
}

/** Every keyed cache folder under engineCacheDir, with what is in it. */
export function listEngineCaches(engineCacheDir: string): CacheEntry[] {
  const out: CacheEntry[] = [];
  let models: string[];
  try {
    models = readdirSync(engineCacheDir).filter((n) => SHA256.test(n));
  } catch {
    return out;
  }
  for (const m of models) {
    for (const key of readdirSync(join(engineCacheDir, m))) {
      const p = join(engineCacheDir, m, key);
      if (!statSync(p).isDirectory()) continue;
      const files = readdirSync(p)
        .filter((n) => n !== 'key.json')
        .map((n) => ({ name: n, bytes: statSync(join(p, n)).size }));
      out.push({ path: p, modelSha256: m, key, files });
    }
  }
  return out;
}

/** TensorRT version from NvInferVersion.h text ("8.5.2"), or null. */
export function parseNvInferVersion(header: string): string | null {
  // TensorRT 8: #define NV_TENSORRT_MAJOR 8; TensorRT 10: #define TRT_MAJOR_ENTERPRISE 10 (NV_TENSORRT_MAJOR names it)
  const get = (k: string) => new RegExp(`#define\\s+NV_TENSORRT_${k}\\s+(\\d+)`).exec(header)?.[1] ?? new RegExp(`#define\\s+TRT_${k}_ENTERPRISE\\s+(\\d+)`).exec(header)?.[1];
  const [maj, min, patch] = [get('MAJOR'), get('MINOR'), get('PATCH')];
  return maj !== undefined && min !== undefined ? `${maj}.${min}.${patch ?? 0}` : null;
}

const HEADER_DIRS = ['/usr/include/aarch64-linux-gnu', '/usr/include/x86_64-linux-gnu', '/usr/include', '/usr/local/cuda/include', '/usr/local/tensorrt/include'];

/** The installed TensorRT version (JetPack installs NvInferVersion.h with libnvinfer-dev), or "unknown". */
export function detectTensorRtVersion(dirs = HEADER_DIRS): string {
  for (const d of dirs) {
    try {
      const v = parseNvInferVersion(readFileSync(join(d, 'NvInferVersion.h'), 'utf8'));
      if (v) return v;
    } catch {
      /* not here */
    }
  }
  return 'unknown';
}

/** Read a keyed folder's key.json (null when absent or unreadable). */
export function readCacheKey(path: string): (EngineCacheKeyInput & { key: string }) | null {
  try {
    return JSON.parse(readFileSync(join(path, 'key.json'), 'utf8'));
  } catch {
    return null;
  }
}

/**
 * After a TensorRT warm-up with an engine cache asked for, the cache folder must hold an engine.
 * An empty folder means the binding dropped the options (the stock npm binding passes only deviceId).
 */
export function cacheWarnings(p: string | { name: string; [k: string]: unknown }, listDir: (d: string) => string[] = readdirSync): string[] {
  if (typeof p === 'string' || p.name !== 'tensorrt' || typeof p.engineCachePath !== 'string') return [];
  let files: string[];
  try {
    files = listDir(p.engineCachePath).filter((f) => f !== 'key.json');
  } catch (e) {
    return [`TensorRT engine cache ${p.engineCachePath} cannot be read: ${(e as Error).message}`];
  }
  return files.length
    ? []
    : [`TensorRT ran but wrote no engine to ${p.engineCachePath}: this onnxruntime-node binding ignores TensorRT options (fp16, engine cache); install the patched build from deploy/jetson/`];
}
