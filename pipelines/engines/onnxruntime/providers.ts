// Execution-provider requests: our option names, their validation, and their mapping to
// onnxruntime's names. Pure: no onnxruntime import, no file access (the daemon's config
// validation and the worker both use it).
//
// Our name          provider   onnxruntime option(s)                                  stock npm binding
// deviceId          cuda, trt  device_id                                              passed
// fp16              tensorrt   trt_fp16_enable "1"/"0"                                ignored (patched binding only)
// engineCacheDir    tensorrt   trt_engine_cache_enable "1", trt_engine_cache_path     ignored (patched binding only)
//                              = <engineCacheDir>/<model sha256>/<key> (engine-cache.ts)
// timingCache       tensorrt   trt_timing_cache_enable "1", trt_timing_cache_path     ignored (patched binding only)
//                              = <engineCacheDir>/timing-<TensorRT version>
// workspaceMb       tensorrt   trt_max_workspace_size (bytes)                         ignored (patched binding only)
// dlaCore           tensorrt   trt_dla_enable "1", trt_dla_core                       ignored (patched binding only)
//
// The stock onnxruntime-node binding reads only `deviceId` from a provider object
// (js/node/src/session_options_helper.cc); deploy/jetson/ patches it to pass every `trt_*`
// string property to UpdateTensorRTProviderOptions.

export const PROVIDER_NAMES = ['cpu', 'cuda', 'tensorrt'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

type OptionCheck = (v: unknown) => string | undefined;

const bool: OptionCheck = (v) => (typeof v === 'boolean' ? undefined : `must be true or false (got ${JSON.stringify(v)})`);
const int =
  (min: number, max: number): OptionCheck =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? undefined : `must be an integer ${min}..${max} (got ${JSON.stringify(v)})`;
const absDir: OptionCheck = (v) =>
  typeof v === 'string' && v.startsWith('/') && !/[\0\r\n]/.test(v) && !v.split('/').includes('..')
    ? undefined
    : `must be an absolute directory path without ".." (got ${JSON.stringify(v)})`;

/** Known options per provider, with their checks. Anything else is a config error. */
export const PROVIDER_OPTIONS: Record<ProviderName, Record<string, OptionCheck>> = {
  cpu: {},
  cuda: { deviceId: int(0, 64) },
  tensorrt: { deviceId: int(0, 64), fp16: bool, engineCacheDir: absDir, timingCache: bool, workspaceMb: int(16, 1 << 20), dlaCore: int(0, 7) },
};

/** A provider request after validation: a name and our (validated) options. */
export interface ProviderSpec {
  name: ProviderName;
  options: Record<string, unknown>;
}

export interface ProviderProblem {
  /** Key path relative to the list, e.g. "[0].fp16" */
  path: string;
  message: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Validate an executionProviders list: each entry is a provider name or an object with a `name`
 * and that provider's known options. Returns every problem with its path inside the list.
 */
export function checkProviders(list: unknown): ProviderProblem[] {
  const out: ProviderProblem[] = [];
  if (!Array.isArray(list) || list.length === 0) return [{ path: '', message: `must be a non-empty list of ${PROVIDER_NAMES.join(', ')} (names or {"name": ..., options})` }];
  const seen = new Set<string>();
  list.forEach((entry, i) => {
    const at = `[${i}]`;
    let name: unknown;
    if (typeof entry === 'string') name = entry;
    else if (isObj(entry)) name = entry.name;
    else {
      out.push({ path: at, message: `expected a provider name or an object with "name", got ${JSON.stringify(entry)}` });
      return;
    }
    const namePath = typeof entry === 'string' ? at : `${at}.name`;
    if (typeof name !== 'string' || !(PROVIDER_NAMES as readonly string[]).includes(name)) {
      out.push({ path: namePath, message: `unknown execution provider ${JSON.stringify(name)} (allowed: ${PROVIDER_NAMES.join(', ')})` });
      return;
    }
    if (seen.has(name)) out.push({ path: namePath, message: `lists provider "${name}" twice` });
    seen.add(name);
    if (!isObj(entry)) return;
    const known = PROVIDER_OPTIONS[name as ProviderName];
    for (const [k, v] of Object.entries(entry)) {
      if (k === 'name') continue;
      const check = Object.prototype.hasOwnProperty.call(known, k) ? known[k] : undefined;
      if (!check) {
        const allowed = Object.keys(known);
        out.push({ path: `${at}.${k}`, message: `unknown option for ${name} (${allowed.length ? `known: ${allowed.join(', ')}` : 'it takes no options'})` });
        continue;
      }
      const problem = check(v);
      if (problem) out.push({ path: `${at}.${k}`, message: problem });
    }
    if (entry.timingCache === true && entry.engineCacheDir === undefined)
      out.push({ path: `${at}.timingCache`, message: 'needs engineCacheDir (the timing cache is kept there)' });
  });
  return out;
}

/** Normalise a validated list (strings or objects) to specs. */
export function toSpecs(list: readonly (string | { name: string; [k: string]: unknown })[]): ProviderSpec[] {
  return list.map((p) => {
    if (typeof p === 'string') return { name: p as ProviderName, options: {} };
    const { name, ...options } = p;
    return { name: name as ProviderName, options };
  });
}

/**
 * The provider object handed to onnxruntime-node for one request, in onnxruntime's option names.
 * `engineCachePath` / `timingCachePath` are the resolved folders (see engine-cache.ts); the
 * worker receives them in the request. Values of trt_* keys are strings, as
 * UpdateTensorRTProviderOptions takes them.
 */
export function toOrtOptions(req: { name: string; [k: string]: unknown }): { name: string; [k: string]: unknown } {
  const { name } = req;
  const o: { name: string; [k: string]: unknown } = { name };
  if (name !== 'cuda' && name !== 'tensorrt') return o;
  if (typeof req.deviceId === 'number') o.deviceId = req.deviceId;
  if (name !== 'tensorrt') return o;
  if (typeof req.fp16 === 'boolean') o.trt_fp16_enable = req.fp16 ? '1' : '0';
  if (typeof req.engineCachePath === 'string') {
    o.trt_engine_cache_enable = '1';
    o.trt_engine_cache_path = req.engineCachePath;
  }
  if (req.timingCache === true && typeof req.timingCachePath === 'string') {
    o.trt_timing_cache_enable = '1';
    o.trt_timing_cache_path = req.timingCachePath;
  }
  if (typeof req.workspaceMb === 'number') o.trt_max_workspace_size = String(req.workspaceMb * 1024 * 1024);
  if (typeof req.dlaCore === 'number') {
    o.trt_dla_enable = '1';
    o.trt_dla_core = String(req.dlaCore);
  }
  const prof = req.trtProfile as { min: string; opt: string; max: string } | undefined;
  if (prof) {
    o.trt_profile_min_shapes = prof.min;
    o.trt_profile_opt_shapes = prof.opt;
    o.trt_profile_max_shapes = prof.max;
  }
  return o;
}

/**
 * TensorRT optimisation profile shapes ("input:1x3x224x224") for an input whose batch axis is
 * dynamic: `shape` is the model's batch-1 input shape, the profile's min/opt/max replace its batch.
 */
export function profileShapes(input: string, shape: readonly number[], p: { min: number; opt: number; max: number }): { min: string; opt: string; max: string } {
  if (!(Number.isInteger(p.min) && Number.isInteger(p.opt) && Number.isInteger(p.max) && p.min >= 1 && p.min <= p.opt && p.opt <= p.max))
    throw new RangeError(`batch profile must be integers 1 <= min <= opt <= max, got ${JSON.stringify(p)}`);
  if (/[:,\s]/.test(input)) throw new RangeError(`input name ${JSON.stringify(input)} cannot be written in a TensorRT profile (":", "," or spaces)`);
  const at = (b: number) => `${input}:${[b, ...shape.slice(1)].join('x')}`;
  return { min: at(p.min), opt: at(p.opt), max: at(p.max) };
}
